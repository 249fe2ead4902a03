"""Load a model artifact as something callable like the torch model: ``model(x, mask=None) -> tensor``.

Predictors use it so the same predictor serves the original Seek model, a pruned or INT8 torch module,
or an ONNX graph run by onnxruntime.
"""

from __future__ import annotations

from typing import Any


def load_model(run: Any, role: str, threads: int = 1) -> Any:
    """The artifact ``role`` of a verified run, wrapped in :class:`OnnxModel` when it is an ONNX graph."""
    from seek.artifacts import artifacts, load_artifact

    model = load_artifact(run, role, threads=threads)
    if artifacts(run)[role].kind == "onnx":
        from seek.compression.onnx_export import OnnxModel

        return OnnxModel(model)
    return model
