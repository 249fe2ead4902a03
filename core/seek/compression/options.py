"""``seek compress`` options (``--set name=value``) and the method chain's rules."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from seek.app import AppConfig
from seek.errors import ConfigError

METHODS = ("prune", "distill", "quantize", "onnx")
_FLOAT_ONLY = ("prune", "distill")


class CompressOptions(AppConfig):
    """Every knob of ``seek compress``; each is set with ``--set name=value``."""

    role: str | None = Field(None, description="artifact role to compress (default: the run's only Seek model)")
    threads: int = Field(1, ge=1, le=256, description="CPU threads for measuring, fine-tuning and onnxruntime")
    repeats: int = Field(200, ge=5, description="timed calls at batch 1 (batch 32 gets a quarter)")
    seed: int = Field(0, ge=0)
    backend: Literal["auto", "torch.ao", "torchao"] = Field("auto", description="torch INT8 kernel")
    reduce_range: bool = Field(False, description="7-bit quantization for CPUs without VNNI")
    onnx_quant: Literal["dynamic", "qdq"] = Field("dynamic", description="onnxruntime quantization of the graph")
    calibration_batches: int = Field(8, ge=1, description="QDQ calibration batches of 32 training samples")
    amount: float = Field(0.2, gt=0, lt=1, description="share of heads and FFN units removed per layer")
    importance: Literal["l2", "taylor"] = Field("taylor", description="pruning importance")
    finetune_epochs: int = Field(3, ge=0, description="fine-tune epochs after pruning (core Trainer)")
    finetune_lr: float = Field(5e-4, gt=0)
    ratio: float = Field(0.1, gt=0, lt=1, description="student parameters / teacher parameters")
    student_hidden_size: int | None = Field(None, ge=1)
    student_num_layers: int | None = Field(None, ge=1)
    temperature: float = Field(2.0, gt=0, description="distillation softmax temperature")
    alpha: float = Field(0.7, ge=0, le=1, description="weight of the distillation term (1 - alpha: task loss)")
    distill_epochs: int = Field(60, ge=1)
    distill_lr: float = Field(3e-3, gt=0)
    patience: int = Field(8, ge=1, description="distillation early stopping (val loss)")
    batch_size: int = Field(32, ge=1)
    opset: int = Field(18, ge=13, le=23)
    tolerance: float = Field(1e-4, gt=0, description="largest torch-vs-onnxruntime absolute error accepted")


def parse_methods(text: str) -> list[str]:
    """``"prune,distill,quantize,onnx"`` -> the chain, refused when a method is unknown, repeated or misplaced.

    Pruning and distillation need the float torch model, so they come first. ``quantize`` and ``onnx``
    may come in either order: the ONNX graph is always exported from the float model and, when
    ``quantize`` is in the chain, quantized by onnxruntime as the final model (a ``quantize`` before
    ``onnx`` also yields the INT8 torch model as a measured intermediate).
    """
    methods = [m.strip() for m in text.split(",") if m.strip()]
    if not methods:
        raise ConfigError("--method: give at least one of " + "|".join(METHODS))
    for m in methods:
        if m not in METHODS:
            raise ConfigError(f"--method {m!r}: unknown; choose from {', '.join(METHODS)} (comma-separated chain)")
    for m in set(methods):
        if methods.count(m) > 1:
            raise ConfigError(f"--method {text!r}: {m} appears twice")
    for i, m in enumerate(methods):
        later_float = [x for x in methods[i + 1 :] if x in _FLOAT_ONLY]
        if m in ("quantize", "onnx") and later_float:
            raise ConfigError(
                f"--method {text!r}: {later_float[0]} after {m}: it needs the float torch model, put it before {m}"
            )
    return methods
