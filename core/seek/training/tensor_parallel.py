"""Tensor parallelism for the Seek transformer on a 2-D (dp, tp) device mesh, composed with FSDP2.

Megatron-style through ``torch.distributed.tensor.parallel`` (no collective code of our own): in every
``SelfAttention`` the query, key and value projections are column-wise sharded (each tp rank owns
``num_heads / tp`` whole heads) and the output projection row-wise; in every ``FeedForward`` ``up`` is
column-wise and ``down`` row-wise. Everything else (norms, fusion gate, segment summaries, adapter,
head) is replicated over tp. FSDP2 ``fully_shard`` then shards every block and the root over dp.

The fused ``qkv`` projection cannot be split column-wise as one tensor (its rows are q | k | v, each
head-major), so under TP it is held as three ``nn.Linear`` (``qkv.q``, ``qkv.k``, ``qkv.v``) whose
outputs are concatenated: ``merge_qkv`` turns such a state dict back into the fused layout.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from seek.errors import ConfigError

if TYPE_CHECKING:
    import torch
    from torch.distributed.device_mesh import DeviceMesh

_SPLIT_KEY = re.compile(r"^(?P<prefix>.*\.qkv)\.(?P<part>[qkv])\.(?P<kind>weight|bias)$")


def _split_qkv_class() -> Any:
    import torch
    from torch import nn

    class SplitQKV(nn.Module):
        """q, k and v projections kept apart so each can be column-wise sharded; output = [q | k | v]."""

        def __init__(self, fused: nn.Linear) -> None:
            super().__init__()
            d_in, d_out = fused.in_features, fused.out_features // 3
            self.q, self.k, self.v = (nn.Linear(d_in, d_out, bias=fused.bias is not None) for _ in range(3))
            with torch.no_grad():
                for i, part in enumerate((self.q, self.k, self.v)):
                    part.weight.copy_(fused.weight[i * d_out : (i + 1) * d_out])
                    if fused.bias is not None:
                        part.bias.copy_(fused.bias[i * d_out : (i + 1) * d_out])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            """Concatenate the three (possibly tp-local) projections along the feature axis."""
            return torch.cat((self.q(x), self.k(x), self.v(x)), dim=-1)

    return SplitQKV


def build_mesh(world_size: int, tp_size: int, device_type: str) -> DeviceMesh:
    """The (dp, tp) mesh for ``world_size`` ranks; tp ranks are neighbours (one host's GPUs first)."""
    from torch.distributed.device_mesh import init_device_mesh

    if tp_size < 1 or world_size % tp_size:
        raise ConfigError(f"trainer.tp_size: {tp_size} does not divide the world size {world_size}")
    return init_device_mesh(device_type, (world_size // tp_size, tp_size), mesh_dim_names=("dp", "tp"))


def apply_tensor_parallel(model: torch.nn.Module, tp_mesh: DeviceMesh) -> int:
    """Shard the attention projections and feed-forward layers of ``model`` over ``tp_mesh``; return modules sharded."""
    from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel, parallelize_module

    from seek.models.attention import SelfAttention
    from seek.models.layers import FeedForward

    tp = tp_mesh.size()
    split_qkv = _split_qkv_class()
    count = 0
    for module in list(model.modules()):
        if isinstance(module, SelfAttention):
            if module.num_heads % tp:
                raise ConfigError(f"trainer.tp_size: {tp} does not divide the model's num_heads={module.num_heads}")
            module.qkv = split_qkv(module.qkv)
            plan = {"qkv.q": ColwiseParallel(), "qkv.k": ColwiseParallel(), "qkv.v": ColwiseParallel()}
            parallelize_module(module, tp_mesh, {**plan, "out": RowwiseParallel()})
            count += 1
        elif isinstance(module, FeedForward):
            parallelize_module(module, tp_mesh, {"up": ColwiseParallel(), "down": RowwiseParallel()})
            count += 1
    if not count:
        raise ConfigError("trainer.distributed='fsdp+tp': the model has no Seek attention or feed-forward layers")
    return count


def merge_qkv(state: dict[str, Any]) -> dict[str, Any]:
    """A state dict with ``*.qkv.{q,k,v}.{weight,bias}`` turned back into the fused ``*.qkv.{weight,bias}``."""
    import torch

    merged: dict[str, Any] = {}
    parts: dict[tuple[str, str], dict[str, Any]] = {}
    for key, value in state.items():
        match = _SPLIT_KEY.match(key)
        if match is None:
            merged[key] = value
        else:
            parts.setdefault((match["prefix"], match["kind"]), {})[match["part"]] = value
    for (prefix, kind), found in parts.items():
        merged[f"{prefix}.{kind}"] = torch.cat([found["q"], found["k"], found["v"]], dim=0)
    return merged


def clip_grad_norm_(parameters: Any, max_norm: float) -> torch.Tensor:
    """``torch.nn.utils.clip_grad_norm_`` for gradients that live on different meshes (dp-only and dp x tp).

    torch's version stacks the per-tensor norms, which DTensor refuses across meshes; here each mesh's
    gradients give one norm (``get_total_norm``), turned into a plain tensor, and the total clips them all.
    """
    import torch
    from torch.distributed.tensor import DTensor

    groups: dict[Any, list[torch.Tensor]] = {}
    for param in parameters:
        if param.grad is not None:
            key = param.grad.device_mesh if isinstance(param.grad, DTensor) else None
            groups.setdefault(key, []).append(param.grad)
    norms = []
    for grads in groups.values():
        norm = torch.nn.utils.get_total_norm(grads)
        norms.append(norm.full_tensor() if isinstance(norm, DTensor) else norm)
    total = torch.linalg.vector_norm(torch.stack(norms))
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for grads in groups.values():
        local = [g.to_local() if isinstance(g, DTensor) else g for g in grads]
        torch._foreach_mul_(local, coef.to(local[0].device))
    return total
