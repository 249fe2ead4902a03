"""Dynamic INT8 quantization: of a torch Seek model (one function, backend recorded) and of an ONNX graph.

Torch: every ``nn.Linear`` becomes an :class:`~seek.compression.architecture.Int8Linear` (int8 weights,
one scale per output row, activations quantized per call). Two kernels sit behind
:func:`quantize_dynamic_int8`: ``torch.ao`` (fbgemm's ``quantized::linear_dynamic``, the kernel behind
the deprecated ``quantize_dynamic``, called directly) and ``torchao`` (``quantize_`` with
``Int8DynamicActivationInt8WeightConfig``). ``auto`` picks ``torch.ao`` on CPU: with torch 2.13 and
torchao 0.18 torchao's int8 path runs on CPU but was slower than fp32 there (BENCHMARKS.md).

ONNX: onnxruntime's dynamic quantization (MatMulInteger) or static QDQ with calibration batches;
``reduce_range`` (7-bit weights) is for CPUs without VNNI, where 8-bit products can saturate.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from seek.errors import ConfigError, RunError

Backend = Literal["auto", "torch.ao", "torchao"]


def choose_backend(requested: Backend) -> str:
    """The INT8 kernel to use: ``auto`` is torch.ao on CPU (measured faster than torchao there)."""
    if requested == "auto":
        return "torch.ao"
    if requested == "torchao":
        try:
            import torchao.quantization  # noqa: F401
        except ImportError:
            raise ConfigError("--set backend=torchao needs torchao: pip install 'seek[compress]'") from None
    return requested


def quantize_dynamic_int8(model: Any, backend: Backend = "auto", reduce_range: bool = False) -> tuple[Any, str]:
    """Return a copy of ``model`` with every Linear dynamically quantized to INT8, and the backend used.

    LSTM/GRU layers would be quantized here too; Seek models have none. Any other layer with weights
    (convolutions, embeddings) stays float and is named in the model's ``int8_skipped`` attribute.
    """
    import copy

    from torch import nn

    from seek.compression.architecture import Int8Linear

    used = choose_backend(backend)
    quantized = copy.deepcopy(model).cpu().eval()
    linears = [(path, m) for path, m in quantized.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        first = next((f"{p} ({type(m).__name__})" for p, m in quantized.named_modules() if p), "none")
        raise RunError(f"--method quantize: the model has no Linear layer to quantize (first layer: {first})")
    for module in quantized.modules():
        if isinstance(module, (nn.LSTM, nn.GRU)):
            raise RunError(
                f"--method quantize: recurrent layer {type(module).__name__} is not supported in Seek models"
            )
    for path, linear in linears:
        parent_path, _, name = path.rpartition(".")
        parent = quantized.get_submodule(parent_path) if parent_path else quantized
        setattr(parent, name, Int8Linear.from_linear(linear, used, reduce_range))
    skipped = [
        f"{p} ({type(m).__name__})"
        for p, m in quantized.named_modules()
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Embedding))
    ]
    quantized.int8_skipped = skipped
    return quantized, used


def quantize_onnx(
    source: Path,
    target: Path,
    mode: Literal["dynamic", "qdq"] = "dynamic",
    reduce_range: bool = False,
    calibration: Iterable[dict[str, Any]] = (),
) -> None:
    """Quantize an ONNX graph with onnxruntime: dynamic (weights int8) or QDQ (static, from calibration feeds)."""
    import tempfile

    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        if mode == "dynamic":
            quantize_dynamic(
                str(prepared), str(target), weight_type=QuantType.QInt8, per_channel=True, reduce_range=reduce_range
            )
            return
        feeds = list(calibration)
        if not feeds:
            raise ConfigError("onnx_quant=qdq needs calibration batches (the app's training split gave none)")
        quantize_static(
            str(prepared),
            str(target),
            _Reader(feeds),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=reduce_range,
            op_types_to_quantize=["MatMul", "Gemm"],  # LayerNorm and softmax stay float, as in dynamic mode
        )


class _Reader:
    """onnxruntime's CalibrationDataReader over a list of feeds."""

    def __init__(self, feeds: list[dict[str, Any]]) -> None:
        self._feeds = iter(feeds)

    def get_next(self) -> dict[str, Any] | None:
        return next(self._feeds, None)
