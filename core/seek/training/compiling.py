"""Regional torch.compile: each block of a model's layer list compiled in place, one compile shared by all."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def compile_blocks(model: torch.nn.Module, mode: str = "default") -> list[str]:
    """Compile every block of each outermost ``nn.ModuleList`` in place; the whole model if it has none.

    In-place ``Module.compile`` keeps parameter names (checkpoints and safetensors files are unchanged),
    and identical blocks reuse one compiled graph, so compile time does not grow with depth. Returns
    the names of the compiled modules. ``mode='reduce-overhead'`` replays each block as CUDA graphs
    (the caller marks each training step with :func:`mark_step`).
    """
    import torch

    compiled: list[str] = []
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.ModuleList):
            continue
        if any(name.startswith(done + ".") for done in compiled):
            continue
        for index, block in enumerate(module):
            block.compile(mode=mode)
            compiled.append(f"{name}.{index}" if name else str(index))
    if not compiled:
        model.compile(mode=mode)
        compiled.append("")
    return compiled


def mark_step() -> None:
    """Tell CUDA-graph trees a new training step begins (outputs of the previous replay may be overwritten)."""
    import torch

    torch.compiler.cudagraph_mark_step_begin()  # type: ignore[no-untyped-call]
