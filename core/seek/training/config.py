"""TrainerConfig: every knob of the training loop, validated on construction."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from seek.errors import ConfigError

PRECISIONS = ("fp32", "bf16", "fp16")
SCHEDULES = ("cosine", "linear", "constant")
OPTIMIZERS = ("adamw", "sgd")
DISTRIBUTED = ("ddp", "fsdp")
COMPRESSIONS = (None, "bf16", "fp16", "powersgd")


@dataclass
class TrainerConfig:
    """How to train: epochs, batch, optimiser, precision, schedule, early stopping, checkpoints, distribution.

    ``batch_size`` is the global micro-batch (split across ranks under torchrun); one optimiser step
    sees ``batch_size * accumulation_steps`` samples.
    """

    epochs: int = 10
    batch_size: int = 32
    lr: float = 3e-4
    weight_decay: float = 0.01
    accumulation_steps: int = 1
    precision: str = "fp32"
    grad_clip: float | None = 1.0
    warmup_ratio: float = 0.1
    schedule: str = "cosine"
    min_lr_ratio: float = 0.0
    optimizer: str = "adamw"
    early_stopping_patience: int | None = 3
    monitor: str = "val_loss"
    mode: str = "min"
    restore_best: bool = True
    checkpoint_every_steps: int = 0
    keep_checkpoints: int = 2
    num_workers: int = 0
    eval_batch_size: int | None = None
    seed: int = 0
    distributed: str = "ddp"
    grad_compression: str | None = None
    powersgd_rank: int = 4

    def __post_init__(self) -> None:
        _positive_int(self, "epochs", "batch_size", "accumulation_steps", "keep_checkpoints", "powersgd_rank")
        _non_negative_int(self, "checkpoint_every_steps", "num_workers", "seed")
        if self.eval_batch_size is not None:
            _positive_int(self, "eval_batch_size")
        if self.early_stopping_patience is not None:
            _non_negative_int(self, "early_stopping_patience")
        if not self.lr > 0:
            raise ConfigError(f"trainer.lr: must be > 0, got {self.lr!r}")
        if self.weight_decay < 0:
            raise ConfigError(f"trainer.weight_decay: must be >= 0, got {self.weight_decay!r}")
        if self.grad_clip is not None and self.grad_clip < 0:
            raise ConfigError(f"trainer.grad_clip: must be >= 0 (0 or None = off), got {self.grad_clip!r}")
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"trainer.warmup_ratio: must be in [0, 1), got {self.warmup_ratio!r}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ConfigError(f"trainer.min_lr_ratio: must be in [0, 1], got {self.min_lr_ratio!r}")
        _choice(self, "precision", PRECISIONS)
        _choice(self, "schedule", SCHEDULES)
        _choice(self, "optimizer", OPTIMIZERS)
        _choice(self, "mode", ("min", "max"))
        _choice(self, "distributed", DISTRIBUTED)
        _choice(self, "grad_compression", COMPRESSIONS)
        if self.grad_compression is not None and self.distributed == "fsdp":
            raise ConfigError("trainer.grad_compression: DDP communication hooks do not apply to distributed='fsdp'")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainerConfig:
        """Build from a dict, naming any unknown key."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"trainer.{unknown[0]}: unknown setting (known: {', '.join(sorted(known))})")
        return cls(**values)


def _positive_int(cfg: TrainerConfig, *names: str) -> None:
    for name in names:
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"trainer.{name}: must be an integer >= 1, got {value!r}")


def _non_negative_int(cfg: TrainerConfig, *names: str) -> None:
    for name in names:
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"trainer.{name}: must be an integer >= 0, got {value!r}")


def _choice(cfg: TrainerConfig, name: str, choices: tuple[Any, ...]) -> None:
    value = getattr(cfg, name)
    if value not in choices:
        raise ConfigError(f"trainer.{name}: must be one of {', '.join(map(repr, choices))}, got {value!r}")
