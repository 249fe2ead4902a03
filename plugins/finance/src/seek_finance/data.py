"""The transactions schema and loading a user's CSV/parquet file through the core data pipeline."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

#: The five fields every transactions file needs (after column mapping).
CORE_FIELDS = ("transaction_id", "timestamp", "customer_id", "terminal_id", "amount")
#: Fields that identify entities; cast to integers when every value is one, else kept as strings.
ID_FIELDS = ("transaction_id", "customer_id", "terminal_id", "device_id")


def transactions_schema():  # -> seek.data.schema.Schema
    """The transactions schema: the five core fields required, every other field optional."""
    import polars as pl

    from seek.data.schema import Field, Rule, Schema

    return Schema(
        name="transactions",
        fields=[
            Field("transaction_id", "str", required=True, description="unique id of the transaction"),
            Field("timestamp", "datetime", required=True, description="when it happened (UTC)"),
            Field("customer_id", "str", required=True, description="card / customer id"),
            Field("terminal_id", "str", required=True, description="terminal / merchant id"),
            Field("amount", "float", required=True, min=0.0, description="amount, >= 0, not NaN"),
            Field("merchant_category", "str", description="merchant category code (MCC, ISO 18245)"),
            Field("device_id", "str", description="device fingerprint id the payment came from"),
            Field("ip_lat", "float", min=-90.0, max=90.0, description="IP geolocation latitude"),
            Field("ip_lon", "float", min=-180.0, max=180.0, description="IP geolocation longitude"),
            Field("session_events", "str", description="behaviour events before the payment, '|'-separated"),
            Field("session_seconds", "float", min=0.0, description="session length in seconds"),
            Field("is_fraud", "int", allowed=[0, 1], description="label: 1 fraud, 0 genuine"),
            Field("label_available_at", "datetime", description="when the label became known"),
        ],
        rules=[
            Rule(
                "unique_transaction_id",
                pl.col("transaction_id").is_first_distinct(),
                "transaction_id repeats an earlier row",
                reject=True,
            )
        ],
        extra="drop",
    )


@dataclass
class LoadedData:
    """Valid rows in the canonical schema, the rejected rows with reasons, and the input row count."""

    frame: pl.DataFrame
    rejected: pl.DataFrame
    n_input: int
    source: str


def _integer_ids(frame: pl.DataFrame) -> pl.DataFrame:
    """Cast id columns to Int64 when every value is an integer (faster grouping); else keep strings."""
    import polars as pl

    casts = []
    for name in ID_FIELDS:
        if name in frame.columns and frame.schema[name] == pl.String:
            as_int = frame.get_column(name).cast(pl.Int64, strict=False)
            if as_int.null_count() == frame.get_column(name).null_count():
                casts.append(as_int.alias(name))
    return frame.with_columns(casts) if casts else frame


def normalise(frame: pl.DataFrame, source: str = "data", label_delay_days: float = 7.0) -> LoadedData:
    """Validate an in-memory frame already named in the canonical schema."""
    import polars as pl

    from seek.data.schema import validate

    schema = transactions_schema()
    known = {f.name for f in schema.fields}
    kept, rejected = validate(frame.select([c for c in frame.columns if c in known]), schema, source=source)
    # Optional columns absent from the file come back all-null from the schema step: drop them again.
    absent = [f.name for f in schema.fields if f.name not in frame.columns]
    kept = _integer_ids(kept.drop([c for c in absent if c in kept.columns]))
    if "is_fraud" in kept.columns:
        kept = kept.with_columns(pl.col("is_fraud").cast(pl.Int8))
        if "label_available_at" not in kept.columns:
            delay = timedelta(days=label_delay_days)
            kept = kept.with_columns((pl.col("timestamp") + delay).alias("label_available_at"))
    return LoadedData(
        frame=kept.sort("timestamp", "transaction_id"), rejected=rejected, n_input=frame.height, source=source
    )


def load_transactions(
    path: str | os.PathLike[str], column_map: Mapping[str, str] | None = None, label_delay_days: float = 7.0
) -> LoadedData:
    """Read a CSV/parquet file, rename columns per ``column_map`` (schema name -> file column) and validate.

    Bad rows (unparseable time, missing id, NaN or negative amount, repeated id) are returned in
    ``rejected`` with the original row number and the reason; they are never dropped silently.
    """
    from seek.data.frames import read_frame
    from seek.data.schema import apply_mapping
    from seek.errors import DataError

    raw = read_frame(path, as_text=True)
    mapped = apply_mapping(raw, dict(column_map or {}), source=str(path))
    missing = [name for name in CORE_FIELDS if name not in mapped.columns]
    if missing:
        raise DataError(
            f"{path}: column {missing[0]!r} is missing; map it with --set column_map.{missing[0]}=<your column> "
            f"(columns are {raw.columns})"
        )
    return normalise(mapped, source=str(path), label_delay_days=label_delay_days)
