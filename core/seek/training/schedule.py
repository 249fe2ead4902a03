"""Learning-rate schedules: linear warmup then cosine, linear or constant, as a LambdaLR factor."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


@dataclass
class WarmupSchedule:
    """Multiplier of the base learning rate at optimiser step ``step`` (a picklable-free plain object)."""

    total_steps: int
    warmup_steps: int
    kind: str = "cosine"
    min_ratio: float = 0.0

    def __call__(self, step: int) -> float:
        """Factor in [min_ratio, 1] for the step about to be taken (0-based)."""
        if self.warmup_steps and step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if self.kind == "constant":
            return 1.0
        decay_steps = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / decay_steps)
        shape = 1.0 - progress if self.kind == "linear" else 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.min_ratio + (1.0 - self.min_ratio) * shape


def build_scheduler(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_ratio: float, kind: str, min_ratio: float
) -> torch.optim.lr_scheduler.LambdaLR:
    """LambdaLR over ``total_steps`` optimiser steps with ``warmup_ratio`` of them spent warming up."""
    import torch

    warmup = round(warmup_ratio * total_steps)
    schedule = WarmupSchedule(total_steps=total_steps, warmup_steps=warmup, kind=kind, min_ratio=min_ratio)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
