"""Regional torch.compile: each block of a model's layer list compiled in place, one compile shared by all."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def compile_blocks(model: torch.nn.Module) -> list[str]:
    """Compile every block of each outermost ``nn.ModuleList`` in place; the whole model if it has none.

    In-place ``Module.compile`` keeps parameter names (checkpoints and safetensors files are unchanged),
    and identical blocks reuse one compiled graph, so compile time does not grow with depth. Returns
    the names of the compiled modules.
    """
    import torch

    compiled: list[str] = []
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.ModuleList):
            continue
        if any(name.startswith(done + ".") for done in compiled):
            continue
        for index, block in enumerate(module):
            block.compile()
            compiled.append(f"{name}.{index}" if name else str(index))
    if not compiled:
        model.compile()
        compiled.append("")
    return compiled
