"""TrainerConfig: every knob of the training loop, a pydantic model like every other Seek config."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from seek.errors import ConfigError

PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")
SCHEDULES: tuple[str, ...] = ("cosine", "linear", "constant")
OPTIMIZERS: tuple[str, ...] = ("adamw", "sgd")
DISTRIBUTED: tuple[str, ...] = ("ddp", "fsdp", "fsdp+tp")
COMPRESSIONS: tuple[str | None, ...] = (None, "bf16", "fp16", "powersgd")


class TrainerConfig(BaseModel):
    """How to train: epochs, batch, optimiser, precision, schedule, early stopping, checkpoints, distribution.

    ``batch_size`` is the global micro-batch (split across ranks under torchrun); one optimiser step
    sees ``batch_size * accumulation_steps`` samples. Nested in an app's Config it is set with
    ``--set model.trainer.lr=1e-3``; built directly, a bad value raises one-line ``ConfigError``.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    epochs: int = Field(10, ge=1, strict=True, description="passes over the training data")
    batch_size: int = Field(32, ge=1, strict=True, description="global micro-batch")
    lr: float = Field(3e-4, gt=0, description="peak learning rate")
    weight_decay: float = Field(0.01, ge=0)
    accumulation_steps: int = Field(1, ge=1, strict=True, description="micro-batches per optimiser step")
    precision: Literal["fp32", "bf16", "fp16"] = Field("fp32", description="fp16 needs CUDA (GradScaler)")
    grad_clip: float | None = Field(1.0, ge=0, description="max gradient norm; 0 or None = off")
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    schedule: Literal["cosine", "linear", "constant"] = "cosine"
    min_lr_ratio: float = Field(0.0, ge=0, le=1)
    optimizer: Literal["adamw", "sgd"] = "adamw"
    early_stopping_patience: int | None = Field(3, ge=0, strict=True, description="epochs without gain; None = off")
    monitor: str = Field("val_loss", description="metric early stopping and restore_best watch")
    mode: Literal["min", "max"] = "min"
    restore_best: bool = True
    checkpoint_every_steps: int = Field(0, ge=0, strict=True, description="0 = only at epoch ends")
    keep_checkpoints: int = Field(2, ge=1, strict=True)
    num_workers: int = Field(0, ge=0, strict=True)
    eval_batch_size: int | None = Field(None, ge=1, strict=True)
    seed: int = Field(0, ge=0, strict=True)
    distributed: Literal["ddp", "fsdp", "fsdp+tp"] = "ddp"
    tp_size: int = Field(1, ge=1, strict=True, description="tensor-parallel ranks per model replica (fsdp+tp)")
    grad_compression: Literal["bf16", "fp16", "powersgd"] | None = None
    powersgd_rank: int = Field(4, ge=1, strict=True)
    param_dtype: Literal["fp32", "bf16"] = Field(
        "fp32",
        description="'bf16': inside fit the model holds bf16 parameters and computes in bf16 throughout (no autocast), "
        "the optimiser steps fp32 master copies (needs precision='bf16', one process)",
    )
    compile: bool = Field(False, description="torch.compile each transformer block in place (regional compilation)")
    compile_mode: Literal["default", "reduce-overhead"] = Field(
        "default", description="torch.compile mode; 'reduce-overhead' replays each block as CUDA graphs"
    )
    cuda_graphs: bool = Field(
        False,
        description="record each micro-batch shape's forward and backward as CUDA graphs and replay them "
        "(eager kernels without their host launch cost; CUDA, one process, static shapes pay)",
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigError(_one_line(exc)) from None

    @model_validator(mode="after")
    def _compression_needs_ddp(self) -> TrainerConfig:
        if self.grad_compression is not None and self.distributed != "ddp":
            raise ValueError(
                f"grad_compression: DDP communication hooks do not apply to distributed={self.distributed!r}"
            )
        if self.tp_size > 1 and self.distributed != "fsdp+tp":
            raise ValueError("tp_size: tensor parallelism needs distributed='fsdp+tp'")
        if self.cuda_graphs and self.compile:
            raise ValueError(
                "cuda_graphs: with compile=True use compile_mode='reduce-overhead', which replays the compiled blocks "
                "as CUDA graphs"
            )
        if self.param_dtype == "bf16" and self.precision != "bf16":
            raise ValueError(f"param_dtype: 'bf16' parameters need precision='bf16', not {self.precision!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainerConfig:
        """Build from a dict, naming any unknown key."""
        return cls(**values)


def _one_line(exc: ValidationError) -> str:
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"]) or "config"
    if error["type"] == "extra_forbidden":
        return f"trainer.{key}: unknown setting (known: {', '.join(sorted(TrainerConfig.model_fields))})"
    message = error["msg"].removeprefix("Value error, ")
    return f"trainer.{key}: {message}, got {error.get('input')!r}"
