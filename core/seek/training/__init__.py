"""Training: the Trainer (accumulation, mixed precision, early stopping, resumable checkpoints, torchrun)."""

from __future__ import annotations

from seek.training.callbacks import Callback, StopTraining
from seek.training.config import TrainerConfig
from seek.training.distributed import gradient_bytes_per_step, open_run_folder
from seek.training.trainer import FitResult, Trainer

__all__ = [
    "Callback",
    "FitResult",
    "StopTraining",
    "Trainer",
    "TrainerConfig",
    "gradient_bytes_per_step",
    "open_run_folder",
]
