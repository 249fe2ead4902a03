"""Pydantic request and response models: per-app record models built from each App's DataSpec schema."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

if TYPE_CHECKING:
    from seek.app import App

_PY_TYPES: dict[str, Any] = {
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "datetime": dt.datetime,
    "date": dt.date,
    "category": str,
}


_RECORD_MODELS: dict[str, type[BaseModel]] = {}


def record_model(app: App[Any]) -> type[BaseModel]:
    """The strict pydantic model of one record of ``app`` (free-form without a schema); built once per app."""
    if app.name not in _RECORD_MODELS:
        _RECORD_MODELS[app.name] = _build_record_model(app)
    return _RECORD_MODELS[app.name]


def _build_record_model(app: App[Any]) -> type[BaseModel]:
    title = "".join(part.capitalize() for part in app.name.replace("_", "-").split("-")) + "Record"
    spec = app.data
    if spec is None or spec.schema is None:
        return create_model(title, __config__=ConfigDict(extra="allow", title=title, strict=True))
    fields: dict[str, Any] = {}
    skip = {spec.label} if spec.label else set()
    for f in spec.schema.fields:
        if f.name in skip or f.name.startswith("label_"):
            continue  # the label is what the model predicts; it arrives later through /feedback
        kind: Any = _PY_TYPES[f.dtype]
        if f.allowed is not None:
            kind = Literal[tuple(f.allowed)]
        bounds: dict[str, Any] = {"description": f.description or None}
        if f.dtype in ("int", "float"):
            if f.min is not None:
                bounds["ge"] = f.min
            if f.max is not None:
                bounds["le"] = f.max
            if f.dtype == "float" and not f.allow_nan:
                bounds["allow_inf_nan"] = False
        if f.dtype in ("datetime", "date"):
            bounds["strict"] = False  # JSON has no time type: an ISO 8601 string is the only way to send one
        if f.dtype == "str":
            if f.min is not None:
                bounds["min_length"] = int(f.min)  # type: ignore[arg-type]
            if f.max is not None:
                bounds["max_length"] = int(f.max)  # type: ignore[arg-type]
            if f.pattern is not None:
                bounds["pattern"] = f"^(?:{f.pattern})$"
        if f.required:
            fields[f.name] = (kind, Field(..., **bounds))
        else:
            fields[f.name] = (kind | None, Field(None, **bounds))
    extra: Literal["allow", "ignore"] = "allow" if spec.schema.extra == "keep" else "ignore"
    return create_model(title, __config__=ConfigDict(extra=extra, title=title, strict=True), **fields)


def predict_request(app: App[Any]) -> type[BaseModel]:
    """The JSON body of ``POST /v1/apps/{app}/predict``: a list of records."""
    record = record_model(app)
    title = record.__name__.removesuffix("Record") + "PredictRequest"
    return create_model(
        title,
        __config__=ConfigDict(extra="forbid", title=title, strict=True),
        records=(list[record], Field(..., min_length=1, description="records to score")),  # type: ignore[valid-type]
    )


class ErrorBody(BaseModel):
    """An OIP-style error: one readable line, the request id, and field errors for a 422."""

    error: str
    request_id: str | None = None
    fields: list[dict[str, Any]] | None = None


class PredictResponse(BaseModel):
    """Answers of the JSON route: one prediction per record, with the ids to send feedback for."""

    model_name: str
    model_version: str
    ids: list[str]
    predictions: list[dict[str, Any]]


class OipTensor(BaseModel):
    """An Open Inference Protocol v2 tensor."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(..., min_length=1, max_length=200)
    shape: list[int] = Field(..., min_length=1, max_length=8)
    datatype: Literal["BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "FP16", "FP32", "FP64", "BYTES"]
    data: list[Any]
    parameters: dict[str, Any] | None = None


class OipRequest(BaseModel):
    """``POST /v2/models/{app}/infer``: one tensor per input field, first dimension = records."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str | None = Field(None, max_length=200)
    inputs: list[OipTensor] = Field(..., min_length=1)
    parameters: dict[str, Any] | None = None


class OipResponse(BaseModel):
    """The OIP v2 inference response."""

    model_name: str
    model_version: str
    id: str
    outputs: list[OipTensor]


class TensorMeta(BaseModel):
    """Name, datatype and shape of a model input or output."""

    name: str
    datatype: str
    shape: list[int]


class ModelMetadata(BaseModel):
    """``GET /v2/models/{app}``."""

    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMeta]
    outputs: list[TensorMeta]


class Ready(BaseModel):
    """A readiness or liveness answer."""

    ready: bool = True
    live: bool = True


class FeedbackItem(BaseModel):
    """A ground-truth label for an earlier prediction (by the id the prediction returned)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str = Field(..., min_length=1, max_length=200)
    label: float | int | str | bool
    timestamp: dt.datetime | None = None


class FeedbackRequest(BaseModel):
    """``POST /v2/models/{app}/feedback``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    items: list[FeedbackItem] = Field(..., min_length=1, max_length=1000)


class FeedbackResponse(BaseModel):
    """How many labels were stored."""

    accepted: int


class JobRequest(BaseModel):
    """``POST /v1/jobs`` as JSON: the app and its records."""

    model_config = ConfigDict(extra="forbid", strict=True)

    app: str = Field(..., min_length=1, max_length=100)
    records: list[dict[str, Any]] = Field(..., min_length=1)


class JobStatus(BaseModel):
    """A job's state: queued, running, succeeded, dead (failed permanently, with the error) or deleted."""

    id: str
    app: str
    state: Literal["queued", "running", "succeeded", "dead", "deleted"]
    progress: float = Field(..., ge=0, le=1)
    attempts: int
    created: str
    updated: str
    error: str | None = None
    model_version: str | None = None


class JobResult(BaseModel):
    """The answers of a finished job."""

    id: str
    app: str
    model_version: str | None
    predictions: list[dict[str, Any]]
