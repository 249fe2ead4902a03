"""CUDA graphs of a training micro-batch: the model's forward and backward recorded once per input shape, then replayed.

Eager PyTorch spends host time on every kernel it launches. A model of many small operations (a Seek
block launches a few hundred per layer, forward and backward) keeps a fast GPU waiting on the host,
which is why the ``large`` preset's eager step depends on the machine's CPU (BENCHMARKS.md "GPU
efficiency"). A CUDA graph records the kernels of a region once and replays them in one launch.

``StepGraphs`` records the model's forward and its backward as two graphs per input shape, as
``torch.cuda.make_graphed_callables`` does, with two differences the Trainer needs. The backward adds
into the parameters' ``.grad`` buffers itself, so gradient accumulation over micro-batches is plain
addition (``make_graphed_callables`` hands its static gradient buffers to autograd, which may adopt
them as ``.grad``: the next replay would then overwrite what was accumulated). And the loss, the
callbacks' loss terms (an EWC penalty, say) and the optimiser stay eager, so any loss function works.

What a recording needs, and the Trainer keeps for the whole ``fit``: every parameter keeps its storage,
and the gradient buffers are allocated before the recording and zeroed in place after each step,
never set to None; the forward returns one tensor and never waits on the host (no ``.item()``); one
process (DDP's gradient hooks are not recorded). A shape seen after ``max_shapes`` others runs eagerly.
"""

from __future__ import annotations

from typing import Any

import torch

from seek.errors import ConfigError

# Warm-up passes before a recording (cuBLAS / cuDNN pick their kernels and workspaces on first use);
# the count make_graphed_callables uses.
WARMUP_PASSES = 3


class _Recorded:
    """One input shape's static buffers and its forward and backward graphs."""

    def __init__(self, x: torch.Tensor, mask: torch.Tensor | None) -> None:
        self.x = x.clone()
        self.mask = None if mask is None else mask.clone()
        self.forward = torch.cuda.CUDAGraph()
        self.backward = torch.cuda.CUDAGraph()
        self.output: torch.Tensor | None = None
        self.grad_output: torch.Tensor | None = None


class StepGraphs:
    """Calls ``model(x, mask=mask)`` for training by replaying CUDA graphs recorded per input shape."""

    def __init__(self, model: torch.nn.Module, max_shapes: int = 4) -> None:
        self.model = model
        self.max_shapes = max_shapes
        self._recorded: dict[tuple[Any, ...], _Recorded] = {}
        self._pool: Any = None
        self.params = [p for p in model.parameters() if p.requires_grad]
        # An input of the replay that requires grad, so autograd calls its backward (the model's
        # parameters are not inputs of it: the backward graph writes their gradients itself).
        self._anchor = torch.zeros((), device=self.params[0].device, requires_grad=True)
        self.replays = 0
        self.eager_calls = 0

    @property
    def shapes(self) -> int:
        """How many input shapes have a recording."""
        return len(self._recorded)

    def __call__(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """The model's output for ``x`` (and ``mask``), from a replay where the shape has (or gets) a recording."""
        if not isinstance(x, torch.Tensor) or not (mask is None or isinstance(mask, torch.Tensor)):
            raise ConfigError(
                f"trainer.cuda_graphs: a recorded step takes tensor inputs, got x of type {type(x).__name__} "
                "(train with cuda_graphs=false)"
            )
        key = (
            tuple(x.shape),
            x.dtype,
            None if mask is None else (tuple(mask.shape), mask.dtype),
            torch.is_autocast_enabled("cuda"),
            torch.get_autocast_dtype("cuda"),
            self.model.training,
        )
        recorded = self._recorded.get(key)
        if recorded is None:
            if len(self._recorded) >= self.max_shapes:
                self.eager_calls += 1
                return self.model(x, mask=mask)  # type: ignore[no-any-return]
            recorded = self._record(x, mask)
            self._recorded[key] = recorded
        self.replays += 1
        return _Replay.apply(self._anchor, recorded, x, mask)  # type: ignore[no-any-return]

    def _record(self, x: torch.Tensor, mask: torch.Tensor | None) -> _Recorded:
        recorded = _Recorded(x, mask)
        kept = [p.grad for p in self.params]  # the warm-up must leave the accumulated gradients alone
        # ... and the random streams: dropout then draws what an eager run draws, and a resumed run records
        # at another step than the run it continues without drawing differently
        rng = torch.get_rng_state(), torch.cuda.get_rng_state()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        try:
            with torch.cuda.stream(stream):
                for _ in range(WARMUP_PASSES):
                    for p in self.params:
                        p.grad = None
                    out = _checked(self.model(recorded.x, mask=recorded.mask))
                    out.backward(torch.zeros_like(out))
                    # no graph may outlive its pass: the parameters' gradient accumulators would stay bound
                    # to this side stream and the recording (on another stream) would warn and synchronise
                    del out
            torch.cuda.current_stream().wait_stream(stream)
            used = [p.grad is not None for p in self.params]
            for p, grad, needed in zip(self.params, kept, used, strict=True):
                # a parameter this shape trains gets a buffer for the backward graph to add into
                p.grad = grad if grad is not None or not needed else torch.zeros_like(p)
            if self._pool is None:
                self._pool = torch.cuda.graph_pool_handle()
            # One pool for all shapes: replays come in forward-backward pairs, so one shape's saved
            # activations are dead before another shape's forward reuses their memory.
            with torch.cuda.graph(recorded.forward, pool=self._pool):
                recorded.output = _checked(self.model(recorded.x, mask=recorded.mask))
            recorded.grad_output = torch.empty_like(recorded.output)
            with torch.cuda.graph(recorded.backward, pool=self._pool):
                recorded.output.backward(recorded.grad_output)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"trainer.cuda_graphs: the model's training step could not be recorded as a CUDA graph ({first}); "
                "train with cuda_graphs=false"
            ) from None
        finally:
            torch.set_rng_state(rng[0])
            torch.cuda.set_rng_state(rng[1])
        recorded.output = recorded.output.detach()
        return recorded

    def release(self) -> None:
        """Drop the recordings (and their memory pool) and the gradient buffers they wrote into."""
        self._recorded.clear()
        self._pool = None
        for p in self.params:
            p.grad = None


def _checked(out: Any) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        raise ConfigError(
            f"trainer.cuda_graphs: the model's forward returns {type(out).__name__}; "
            "a recorded step needs one tensor (train with cuda_graphs=false)"
        )
    return out


class _Replay(torch.autograd.Function):
    """Forward: copy the inputs into the recording's buffers and replay its forward graph; backward: its backward."""

    @staticmethod
    def forward(ctx: Any, anchor: torch.Tensor, recorded: _Recorded, x: torch.Tensor, mask: Any) -> torch.Tensor:
        if x.data_ptr() != recorded.x.data_ptr():
            recorded.x.copy_(x)
        if mask is not None and recorded.mask is not None:
            recorded.mask.copy_(mask)
        recorded.forward.replay()
        ctx.recorded = recorded
        assert recorded.output is not None
        # the buffer itself: the next replay overwrites it, after the Trainer has read this micro-batch's loss
        return recorded.output.detach()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, None, None, None]:
        recorded = ctx.recorded
        recorded.grad_output.copy_(grad)
        recorded.backward.replay()
        return None, None, None, None
