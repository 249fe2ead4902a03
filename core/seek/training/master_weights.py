"""bf16 parameters with fp32 master weights: the model runs in bf16 during ``fit``, the optimiser steps fp32 copies.

Outside ``fit`` every parameter holds its fp32 master tensor itself (shared storage), so the model a
caller sees, saves, loads into or predicts with is the plain fp32 model. Inside ``fit`` each floating
parameter holds a bf16 copy: forward and backward run in bf16 throughout (no autocast casts, a bf16
residual stream), the bf16 gradients are copied into fp32 buffers, and the optimiser (built over the
masters) updates the fp32 values, which are then copied back into the bf16 parameters. This is the
"bf16 with fp32 main parameters" scheme of Megatron-LM; updates too small for bf16 are not lost,
because they accumulate in fp32.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch.utils.hooks import RemovableHandle


class MasterWeights:
    """The fp32 masters of a model's floating parameters and the switch between fp32 and bf16 storage."""

    def __init__(self, model: torch.nn.Module) -> None:
        import torch

        self.model = model
        self.dtype = torch.bfloat16
        self.params = [p for p in model.parameters() if p.is_floating_point()]
        # detach() shares storage: while the model is in fp32 the masters *are* its parameters
        self.masters = [p.detach() for p in self.params]
        self._master_of = {id(p): m for p, m in zip(self.params, self.masters, strict=True)}
        self._grads: list[torch.Tensor] = []
        self._hook: RemovableHandle | None = None
        self.active = False

    def master(self, param: torch.Tensor) -> torch.Tensor:
        """The tensor the optimiser steps for ``param`` (its master, or the parameter itself if not floating)."""
        return self._master_of.get(id(param), param)

    def enter(self) -> None:
        """Give every parameter a bf16 copy of its master, and cast floating inputs of the forward to bf16."""
        import torch

        if self.active:
            return
        with torch.no_grad():
            for param, master in zip(self.params, self.masters, strict=True):
                param.data = master.to(self.dtype)
        self._hook = self.model.register_forward_pre_hook(self._cast_inputs, with_kwargs=True)
        self.active = True

    def exit(self) -> None:
        """Point every parameter back at its fp32 master (no copy) and drop the input cast."""
        if not self.active:
            return
        for param, master in zip(self.params, self.masters, strict=True):
            param.data = master
            param.grad = None
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        self._grads = []
        self.active = False

    def _cast_inputs(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any]:
        """Forward pre-hook: floating-point tensor inputs to bf16 (ids and masks are left alone)."""
        import torch

        def cast(value: Any) -> Any:
            if isinstance(value, torch.Tensor) and value.is_floating_point():
                return value.to(self.dtype)
            return value

        return tuple(cast(a) for a in args), {key: cast(value) for key, value in kwargs.items()}

    def grads_to_masters(self, keep: bool = False) -> None:
        """Copy the bf16 gradients into fp32 buffers attached to the masters (a parameter without one gets None).

        The bf16 gradients are then dropped, or with ``keep`` zeroed in place (CUDA graphs add into them).
        """
        import torch

        if not self._grads:
            self._grads = [torch.empty_like(m) for m in self.masters]
        with_grad = [i for i, p in enumerate(self.params) if p.grad is not None]
        if with_grad:
            grads = [g for g in (self.params[i].grad for i in with_grad) if g is not None]
            torch._foreach_copy_([self._grads[i] for i in with_grad], grads)
        if keep and with_grad:
            torch._foreach_zero_(grads)
        chosen = set(with_grad)
        for i, master in enumerate(self.masters):
            master.grad = self._grads[i] if i in chosen else None
            if not keep:
                self.params[i].grad = None

    def masters_to_params(self) -> None:
        """Copy the stepped fp32 masters into the bf16 parameters."""
        import torch

        with torch.no_grad():
            torch._foreach_copy_([p.data for p in self.params], self.masters)

    def state_dict(self) -> dict[str, Any]:
        """The model's state with the fp32 masters in place of its bf16 parameters (copies)."""
        names = {name: self.master(p) for name, p in self.model.named_parameters(remove_duplicate=False)}
        state = self.model.state_dict(keep_vars=True)
        return {key: names.get(key, value).detach().clone() for key, value in state.items()}


def clip_in_step(optimizer: torch.optim.Optimizer, masters: list[torch.Tensor], max_norm: float) -> torch.Tensor:
    """Gradient clipping folded into a fused optimiser's step; returns the gradient norm before clipping.

    ``clip_grad_norm_`` multiplies every gradient by ``min(1, max_norm / (norm + 1e-6))`` in a pass of
    its own over the fp32 gradients (read and written: 16 bytes a parameter). A fused Adam(W) divides
    each gradient by ``optimizer.grad_scale`` while it steps (the hook GradScaler uses to unscale), so
    setting that to the inverse factor clips for free; the caller removes it after the step. The
    result equals clipping first up to the rounding of a division in place of a multiplication.
    """
    import torch

    norm = torch.nn.utils.get_total_norm([m.grad for m in masters if m.grad is not None], 2.0)
    optimizer.grad_scale = ((norm + 1e-6) / max_norm).clamp(min=1.0)  # type: ignore[attr-defined]
    return norm
