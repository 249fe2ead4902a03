"""Predictor records checked by the same schema that validated the training data.

Serving must not judge a record differently from training: :func:`records_frame` turns a batch of
records (JSON objects) into the typed frame the schema gives for a file, by running them through the
same :class:`~seek.data.schema.SchemaStep`. Every value is handed over as text, so "1187" and 1187 are
one id, ``True`` is not an amount, ``inf`` is not finite, and an ISO time with an offset lands in UTC.
The first bad record raises one :class:`DataError` naming its index (from 0, as in the request) and
the field.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from seek.errors import DataError

if TYPE_CHECKING:
    import polars as pl

    from seek.data.schema import Schema


def records_frame(batch: Any, schema: Schema, skip: Iterable[str] = ()) -> pl.DataFrame:
    """Validate ``batch`` (a list of records) against ``schema`` (less ``skip``, e.g. the label)."""
    import polars as pl

    from seek.data.schema import Schema, validate

    if not isinstance(batch, list) or not all(isinstance(record, Mapping) for record in batch):
        raise DataError("the batch must be a list of records (objects with the schema's fields)")
    skipped = set(skip)
    fields = [f for f in schema.fields if f.name not in skipped]
    columns: dict[str, list[str | None]] = {f.name: [] for f in fields}
    for i, record in enumerate(batch):
        for field in fields:
            value = record.get(field.name)
            if value is None and field.required:
                raise DataError(f"record {i}: field {field.name!r} is missing")
            columns[field.name].append(_as_text(i, field.name, value))
    frame = pl.DataFrame(columns, schema={name: pl.String for name in columns})
    kept, rejected = validate(frame, Schema(fields, name=schema.name), source="request")
    if rejected.height:
        first = rejected.row(0, named=True)
        raise DataError(f"record {int(first['row']) - 1}: {first['reason']}")
    return kept


def _as_text(i: int, name: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise DataError(f"record {i}: field {name!r} must be a single value, got {type(value).__name__}")
