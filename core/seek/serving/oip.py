"""Open Inference Protocol v2 tensors <-> predictor records and answers."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from seek.serving.errors import ApiError

if TYPE_CHECKING:
    from seek.app import App
    from seek.serving.schemas import OipRequest

_DTYPES = {"int": "INT64", "float": "FP64", "str": "BYTES", "bool": "BOOL", "datetime": "BYTES", "date": "BYTES"}


def _flat(data: list[Any]) -> list[Any]:
    out: list[Any] = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)
        else:
            stack.pop()
    return out


def to_records(request: OipRequest, max_records: int = 10_000) -> list[dict[str, Any]]:
    """One record per row of the first dimension; each input tensor becomes the field of its name."""
    rows: int | None = None
    columns: dict[str, list[Any]] = {}
    for tensor in request.inputs:
        if any(d < 0 for d in tensor.shape):
            raise ApiError(400, f"input {tensor.name}: shape {tensor.shape} has a negative dimension")
        values = _flat(tensor.data)
        expected = math.prod(tensor.shape)
        if expected != len(values):
            raise ApiError(400, f"input {tensor.name}: shape {tensor.shape} needs {expected} values, got {len(values)}")
        n = tensor.shape[0]
        if rows is not None and n != rows:
            raise ApiError(400, f"input {tensor.name}: first dimension {n} differs from {rows} of the other inputs")
        if tensor.name in columns:
            raise ApiError(400, f"input {tensor.name}: given twice")
        rows = n
        width = expected // n if n else 0
        if len(tensor.shape) == 1:
            columns[tensor.name] = values
        else:
            columns[tensor.name] = [values[i * width : (i + 1) * width] for i in range(n)]
    if not rows:
        raise ApiError(400, "inputs hold no records (first dimension is 0)")
    if rows > max_records:
        raise ApiError(413, f"{rows} records in one request (limit {max_records}); use /v1/jobs")
    return [{name: col[i] for name, col in columns.items()} for i in range(rows)]


def to_outputs(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Answers as output tensors: numbers and booleans as typed [N] tensors, anything else as JSON BYTES."""
    if not answers:
        return []
    names = list(answers[0])
    outputs: list[dict[str, Any]] = []
    for name in names:
        values = [a.get(name) for a in answers]
        if all(isinstance(v, bool) for v in values):
            outputs.append({"name": name, "datatype": "BOOL", "shape": [len(values)], "data": values})
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            outputs.append({"name": name, "datatype": "INT64", "shape": [len(values)], "data": values})
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
            outputs.append(
                {
                    "name": name,
                    "datatype": "FP64",
                    "shape": [len(values)],
                    "data": [float(v) for v in values if v is not None],
                }
            )
        elif all(isinstance(v, str) for v in values):
            outputs.append({"name": name, "datatype": "BYTES", "shape": [len(values)], "data": values})
        else:
            data = [json.dumps(v, default=str, allow_nan=False) for v in values]
            outputs.append(
                {
                    "name": name,
                    "datatype": "BYTES",
                    "shape": [len(values)],
                    "data": data,
                    "parameters": {"content": "json"},
                }
            )
    return outputs


def input_metadata(app: App[Any]) -> list[dict[str, Any]]:
    """The app's inputs as OIP tensor metadata (from its DataSpec schema)."""
    spec = app.data
    if spec is None or spec.schema is None:
        return []
    skip = {spec.label} if spec.label else set()
    return [
        {"name": f.name, "datatype": _DTYPES.get(f.dtype, "BYTES"), "shape": [-1]}
        for f in spec.schema.fields
        if f.name not in skip and not f.name.startswith("label_")
    ]
