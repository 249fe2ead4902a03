"""ONNX export with dynamic batch and sequence axes, the parity check against torch, onnxruntime sessions."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seek.errors import RunError

log = logging.getLogger("seek.compression")
OPSET = 18


def export_onnx(model: Any, x: Any, mask: Any, path: Path, opset: int = OPSET) -> str:
    """Export a float Seek model to ``path``; batch is dynamic, and so is the sequence length. Returns which axes.

    The sequence axis is exported as ``segment_size * n`` for the hierarchical model (the graph reshapes
    into whole segments; callers pad to one), as any length for full attention; a model whose
    ``max_len`` is a single segment has nothing to vary, and its sequence axis stays fixed.
    """
    import torch
    from torch.export import Dim

    model = model.cpu().eval()
    cfg = model.config
    batch = Dim("batch", min=1, max=65536)
    segments = cfg.max_len // cfg.segment_size
    if cfg.attention == "full" or cfg.full_attention_below > 0:
        seq: Any = Dim("seq", min=1, max=cfg.max_len)
        axes = f"dynamic batch and sequence (1..{cfg.max_len})"
    elif segments >= 2:
        seq = cfg.segment_size * Dim("segments", min=1, max=segments)
        axes = f"dynamic batch and sequence (multiples of {cfg.segment_size} up to {cfg.max_len})"
    else:
        seq = None
        axes = f"dynamic batch; sequence fixed at {x.shape[1]} (max_len {cfg.max_len} is one segment)"
    if x.shape[1] % cfg.segment_size:
        raise RunError(f"ONNX export: example length {x.shape[1]} is not a multiple of segment_size {cfg.segment_size}")
    args = (x[:2].float(),) if mask is None else (x[:2].float(), mask[:2].bool())
    dims = {0: batch, 1: seq} if seq is not None else {0: batch}
    shapes = (dims,) if mask is None else (dims, dict(dims))
    names = ["x"] if mask is None else ["x", "mask"]
    with warnings.catch_warnings(), torch.no_grad():  # the exporter warns about optional torchvision ops
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            model,
            args,
            dynamic_shapes=shapes,
            input_names=names,
            output_names=["output"],
            opset_version=opset,
            dynamo=True,
            verbose=False,
        )
    if program is None:
        raise RunError("ONNX export returned no program")
    program.save(str(path))
    _strip_metadata(path)
    return axes


def _strip_metadata(path: Path) -> None:
    """Drop the exporter's per-node source-stack metadata: it was three quarters of a small model's file."""
    import onnx

    model = onnx.load(str(path))
    for node in model.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    del model.graph.value_info[:]
    onnx.save(model, str(path))


def session(path: Path | str | bytes, threads: int = 1) -> Any:
    """An onnxruntime CPU session with every graph optimisation on and ``threads`` intra-op threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    source = path if isinstance(path, bytes) else str(path)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


class OnnxModel:
    """An onnxruntime session called like the torch model: ``model(x, mask=None)`` -> torch tensor."""

    def __init__(self, sess: Any) -> None:
        self.session = sess
        self.inputs = [i.name for i in sess.get_inputs()]

    def __call__(self, x: Any, mask: Any = None) -> Any:
        import numpy as np
        import torch

        feeds = {"x": x.detach().cpu().numpy().astype(np.float32, copy=False)}
        if "mask" in self.inputs:
            m = mask if mask is not None else torch.ones(x.shape[:2], dtype=torch.bool)
            feeds["mask"] = m.detach().cpu().numpy().astype(bool)
        return torch.from_numpy(self.session.run(None, feeds)[0])

    def feeds(self, x: Any, mask: Any = None) -> dict[str, Any]:
        """The input dict this session takes for ``x``/``mask`` (calibration readers use it)."""
        import numpy as np

        feeds = {"x": x.detach().cpu().numpy().astype(np.float32)}
        if "mask" in self.inputs and mask is not None:
            feeds["mask"] = mask.detach().cpu().numpy().astype(bool)
        return feeds


@dataclass(frozen=True)
class Parity:
    """How far onnxruntime's outputs are from torch's on the same inputs."""

    max_abs: float
    max_rel: float
    tolerance: float
    samples: int

    @property
    def ok(self) -> bool:
        """True when the largest absolute error is within the tolerance."""
        return self.max_abs <= self.tolerance

    def line(self) -> str:
        """One printable line."""
        verdict = "ok" if self.ok else "FAILED"
        return (
            f"ONNX parity {verdict}: max abs error {self.max_abs:.3g}, max relative error {self.max_rel:.3g} "
            f"over {self.samples} samples (tolerance {self.tolerance:g})"
        )


def parity(reference: Any, onnx_model: OnnxModel, x: Any, mask: Any, tolerance: float, batch: int = 256) -> Parity:
    """Compare torch and onnxruntime outputs on ``x``; relative error is max |diff| / max |torch output|."""
    import torch

    max_abs, max_ref = 0.0, 0.0
    with torch.inference_mode():
        for start in range(0, len(x), batch):
            xb = x[start : start + batch]
            mb = None if mask is None else mask[start : start + batch]
            want = reference(xb, mb).float()
            got = onnx_model(xb, mb).float()
            max_abs = max(max_abs, float((want - got).abs().max()))
            max_ref = max(max_ref, float(want.abs().max()))
    result = Parity(max_abs, max_abs / max(max_ref, 1e-12), tolerance, len(x))
    log.info(result.line())
    return result
