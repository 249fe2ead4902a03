"""Compression and export of trained models: INT8, structured pruning, distillation, ONNX + onnxruntime.

Every model comes from a verified run folder through :func:`seek.artifacts.load_artifact` and every
result goes into a new sealed run folder through :class:`seek.artifacts.ArtifactWriter`::

    seek compress runs/quickstart-digits/<id> --method prune,distill,quantize,onnx

Modules: ``architecture`` (the one builder that rebuilds pruned / INT8 Seek models from JSON),
``quantize`` (dynamic INT8 in torch and in onnxruntime), ``prune`` (heads and FFN units removed),
``distill`` (a ~1/10 student), ``onnx_export`` (export, parity, sessions), ``measure`` (size, latency,
throughput, quality), ``report`` (the comparison table), ``chain`` (``seek compress`` end to end).
Heavy libraries are imported inside functions.
"""

from seek.compression.data import CompressionData

__all__ = ["CompressionData"]
