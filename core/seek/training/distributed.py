"""torch.distributed glue: detect torchrun, wrap the model in DDP or FSDP, compression hooks, collectives."""

from __future__ import annotations

import atexit
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from seek.errors import ConfigError

log = logging.getLogger("seek.training")

if TYPE_CHECKING:
    import torch

    from seek.runs import RunFolder


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: its rank, the world size and its local rank on the host."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """True when more than one process trains together."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on the process that writes files (rank 0)."""
        return self.rank == 0


def detect() -> DistInfo:
    """Read RANK / WORLD_SIZE / LOCAL_RANK as torchrun sets them (absent: one process)."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError as exc:
        raise ConfigError(f"RANK/WORLD_SIZE/LOCAL_RANK: not integers ({exc})") from exc
    return DistInfo(rank=rank, world_size=world, local_rank=local)


def setup(info: DistInfo, device: torch.device) -> None:
    """Join the process group torchrun describes (gloo on CPU, nccl on CUDA) unless already joined."""
    import torch.distributed as dist

    if not info.enabled or dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        import torch

        torch.cuda.set_device(device)
        dist.init_process_group(backend=backend, device_id=device)
    else:
        dist.init_process_group(backend=backend)
    atexit.register(_teardown)


def _teardown() -> None:
    import datetime

    import torch.distributed as dist

    if dist.is_initialized():
        # Leave together: a rank destroying a gloo group while a peer is still in a collective aborts the
        # peer ("terminate called without an active exception"). Bounded, so a crashed peer cannot hang us.
        try:
            if dist.get_backend() == "gloo":
                dist.monitored_barrier(timeout=datetime.timedelta(seconds=30))
            else:
                dist.barrier()
        except (RuntimeError, ValueError) as exc:  # a peer is gone: nothing left to wait for
            log.debug("exit barrier skipped: %s", exc)
        dist.destroy_process_group()


def open_run_folder(path: str | os.PathLike[str], resume: bool = False) -> RunFolder:
    """Open the run folder as this torchrun rank should: rank 0 creates (or resumes) it, the others attach.

    Only rank 0 writes files, so the other ranks never need an empty folder; they may start before
    rank 0 has created it, hence the ``mkdir``.
    """
    from pathlib import Path

    from seek.runs import RunFolder

    if detect().is_main:
        return RunFolder(path, resume=resume)
    Path(path).mkdir(parents=True, exist_ok=True)
    return RunFolder(path, resume=True)


def resolve_device(requested: str | torch.device, info: DistInfo) -> torch.device:
    """The device this rank trains on: ``cuda`` becomes ``cuda:LOCAL_RANK`` under torchrun."""
    import torch

    device = torch.device(requested)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device={str(requested)!r}: CUDA is not available on this machine")
        if info.enabled and device.index is None:
            device = torch.device("cuda", info.local_rank)
    return device


def wrap_model(
    model: torch.nn.Module,
    info: DistInfo,
    device: torch.device,
    strategy: str,
    compression: str | None,
    powersgd_rank: int,
    tp_size: int = 1,
) -> torch.nn.Module:
    """Wrap ``model`` for data-parallel training (DDP with an optional compression hook, FSDP2, or FSDP2 + TP)."""
    if strategy == "fsdp+tp":
        if not info.enabled:
            if tp_size > 1:
                raise ConfigError(f"trainer.tp_size={tp_size}: needs {tp_size} processes under torchrun, found one")
            return model
        from seek.training.tensor_parallel import apply_tensor_parallel, build_mesh

        mesh = build_mesh(info.world_size, tp_size, device.type)
        apply_tensor_parallel(model, mesh["tp"])
        return _fully_shard(model, mesh["dp"])
    if not info.enabled:
        return model
    if compression == "bf16" and device.type != "cuda":
        raise ConfigError(
            "trainer.grad_compression='bf16': torch's bf16 hook needs NCCL on CUDA; use 'fp16' on CPU/gloo"
        )
    if strategy == "fsdp":
        return _fully_shard(model)
    from torch.nn.parallel import DistributedDataParallel

    # A Seek model with a full-attention switch leaves its coarse-branch weights out of short steps.
    switch = getattr(getattr(model, "config", None), "full_attention_below", 0)
    ddp = DistributedDataParallel(
        model,
        device_ids=[device.index] if device.type == "cuda" else None,
        find_unused_parameters=isinstance(switch, int) and switch > 0,
    )
    if compression is not None:
        state, hook = compression_hook(compression, powersgd_rank)
        ddp.register_comm_hook(state, hook)
        # kept for callers that read the hook's counters (PowerSGD counts elements before/after compression)
        ddp.seek_comm_hook_state = state
    return ddp


def _fully_shard(model: torch.nn.Module, mesh: Any = None) -> torch.nn.Module:
    """Shard each block of every ModuleList (transformer layers) separately, then the root (over ``mesh``)."""
    import torch
    from torch.distributed.fsdp import fully_shard

    for module in list(model.modules()):
        if isinstance(module, torch.nn.ModuleList):
            for block in module:
                if any(p.requires_grad for p in block.parameters()):
                    fully_shard(block, mesh=mesh)
    fully_shard(model, mesh=mesh)
    return model


def compression_hook(name: str, powersgd_rank: int) -> tuple[Any, Any]:
    """The (state, hook) pair DDP's ``register_comm_hook`` takes for ``bf16`` or ``powersgd``."""
    from torch.distributed.algorithms.ddp_comm_hooks import default_hooks, powerSGD_hook

    if name == "bf16":
        return None, default_hooks.bf16_compress_hook
    if name == "fp16":
        return None, default_hooks.fp16_compress_hook
    if name == "powersgd":
        # start compressing from the 2nd step (default 1000 would make short runs plain all-reduce)
        state = powerSGD_hook.PowerSGDState(
            process_group=None, matrix_approximation_rank=powersgd_rank, start_powerSGD_iter=2, random_seed=0
        )
        return state, powerSGD_hook.powerSGD_hook
    raise ConfigError(f"trainer.grad_compression: unknown hook {name!r}")


def gradient_bytes_per_step(model: torch.nn.Module, compression: str | None, powersgd_rank: int = 4) -> int:
    """Bytes each rank contributes to gradient all-reduce per optimiser step, from parameter shapes.

    fp32 all-reduce sends 4 bytes per element; the bf16 and fp16 hooks 2; PowerSGD sends the P (n x r) and
    Q (m x r) factors in fp32 for each matrix it compresses and plain fp32 for the rest (vectors and
    matrices where ``n*m <= 2 * (n+m)*r``, PowerSGD's default ``min_compression_rate``).
    """
    total = 0
    for param in model.parameters():
        if not param.requires_grad:
            continue
        numel = param.numel()
        if compression is None:
            total += 4 * numel
        elif compression in ("bf16", "fp16"):
            total += 2 * numel
        elif compression == "powersgd":
            if param.dim() < 2:
                total += 4 * numel
                continue
            n, m = param.shape[0], numel // param.shape[0]
            rank = min(n, m, powersgd_rank)
            compressed = (n + m) * rank
            total += 4 * (compressed if 2 * compressed < numel else numel)
        else:
            raise ConfigError(f"trainer.grad_compression: unknown hook {compression!r}")
    return total


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The user's module inside a DDP wrapper (FSDP2 shards in place, so it is returned as is)."""
    return getattr(model, "module", model)


def all_reduce_sum(values: list[float], info: DistInfo, device: torch.device) -> list[float]:
    """Sum a few floats over every rank (a no-op in one process)."""
    if not info.enabled:
        return values
    import torch
    import torch.distributed as dist

    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.tolist()


def all_reduce_tensor(tensor: torch.Tensor, info: DistInfo) -> None:
    """Sum ``tensor`` over every rank in place, on its device (no host sync on NCCL; a no-op in one process)."""
    if info.enabled:
        import torch.distributed as dist

        dist.all_reduce(tensor)


def gather_tensors(
    tensors: dict[str, torch.Tensor], info: DistInfo, device: torch.device
) -> list[dict[str, torch.Tensor]]:
    """Every rank's same-shaped ``tensors``, indexed by rank (only one entry in one process)."""
    if not info.enabled:
        return [tensors]
    import torch
    import torch.distributed as dist

    gathered: list[dict[str, torch.Tensor]] = [{} for _ in range(info.world_size)]
    for key in sorted(tensors):
        local = tensors[key].to(device)
        parts = [torch.empty_like(local) for _ in range(info.world_size)]
        dist.all_gather(parts, local)
        for rank, part in enumerate(parts):
            gathered[rank][key] = part.cpu()
    return gathered


def barrier(info: DistInfo) -> None:
    """Wait for every rank (a no-op in one process)."""
    if info.enabled:
        import torch.distributed as dist

        dist.barrier()
