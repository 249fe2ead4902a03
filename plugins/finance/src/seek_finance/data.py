"""The transactions schema (the app's DataSpec) and turning the user's file or the simulator into one frame."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from seek.errors import DataError

if TYPE_CHECKING:
    import polars as pl

    from seek.app import RunContext
    from seek.data.schema import Schema
    from seek.data.spec import DataSpec
    from seek_finance.app import FraudConfig

#: The five fields every transactions file needs (after column mapping).
CORE_FIELDS = ("transaction_id", "timestamp", "customer_id", "terminal_id", "amount")
#: Fields that identify entities; cast to integers when every value is one, else kept as strings.
ID_FIELDS = ("transaction_id", "customer_id", "terminal_id", "device_id")
#: The largest amount accepted: anything above is a unit or export error, not a payment.
MAX_AMOUNT = 1e9
#: Columns the simulator adds beside the schema's (kept: tests and benchmarks read them).
SIMULATOR_EXTRA = ("fraud_scenario",)


def transactions_schema(timezone: str | None = None) -> Schema:
    """The transactions schema: five core fields required, the rest optional, bounds on every number."""
    from seek.data.schema import Field, Schema

    return Schema(
        name="transactions",
        fields=[
            Field("transaction_id", "str", required=True, unique=True, description="unique id of the transaction"),
            Field("timestamp", "datetime", required=True, timezone=timezone, description="when it happened"),
            Field("customer_id", "str", required=True, description="card / customer id"),
            Field("terminal_id", "str", required=True, description="terminal / merchant id"),
            Field("amount", "float", required=True, min=0.0, max=MAX_AMOUNT, description="amount, 0..1e9"),
            Field("merchant_category", "str", description="merchant category code (MCC, ISO 18245)"),
            Field("device_id", "str", description="device fingerprint id the payment came from"),
            Field("ip_lat", "float", min=-90.0, max=90.0, description="IP geolocation latitude"),
            Field("ip_lon", "float", min=-180.0, max=180.0, description="IP geolocation longitude"),
            Field("session_events", "str", description="behaviour events before the payment, '|'-separated"),
            Field("session_seconds", "float", min=0.0, max=86400.0 * 7, description="session length in seconds"),
            Field("is_fraud", "int", allowed=[0, 1], description="label: 1 fraud, 0 genuine, blank unlabelled"),
        ],
        label="is_fraud",
        extra="drop",
    )


@lru_cache(maxsize=8)
def transactions_spec(timezone: str = "UTC") -> DataSpec:
    """What ``seek run finance-fraud --data`` and ``seek data check --schema finance-fraud`` read."""
    from seek.data.spec import DataSpec

    return DataSpec(
        schema=transactions_schema(None if timezone == "UTC" else timezone),
        mapping={},
        label="is_fraud",
        key=("transaction_id",),
        thresholds={"completeness": 0.95, "validity": 0.99, "uniqueness": 0.999, "consistency": 0.99},
        builtin="simulator",
    )


@dataclass
class Transactions:
    """Valid payments in the canonical schema (time order), where they came from and how many lack a label."""

    frame: pl.DataFrame
    source: str
    rows_in: int
    rows_rejected: int
    unlabelled: int


def integer_ids(frame: pl.DataFrame) -> pl.DataFrame:
    """Cast id columns to Int64 when every value is an integer (faster grouping); else keep strings."""
    import polars as pl

    casts = []
    for name in ID_FIELDS:
        if name in frame.columns and frame.schema[name] == pl.String:
            as_int = frame.get_column(name).cast(pl.Int64, strict=False)
            if as_int.null_count() == frame.get_column(name).null_count():
                casts.append(as_int.alias(name))
    return frame.with_columns(casts) if casts else frame


def with_label_times(frame: pl.DataFrame, delay: timedelta) -> pl.DataFrame:
    """Add ``label_available_at`` = timestamp + label delay (the one place the delay turns into times)."""
    import polars as pl

    return frame.with_columns((pl.col("timestamp") + delay).alias("label_available_at"))


def canonical(frame: pl.DataFrame, delay: timedelta) -> pl.DataFrame:
    """Integer ids where possible, UTC ``datetime[us]`` times, Int8 labels, label times, (time, id) order."""
    import polars as pl

    frame = integer_ids(frame).with_columns(pl.col("timestamp").cast(pl.Datetime("us")))
    if "is_fraud" in frame.columns:
        frame = frame.with_columns(pl.col("is_fraud").cast(pl.Int8))
    return with_label_times(frame, delay).sort("timestamp", "transaction_id")


def simulated(config: FraudConfig, ctx: RunContext | None = None) -> Transactions:
    """The built-in data: the simulator's payments, through the same DataSpec as a user's file when run by ctx."""
    from seek_finance.simulate import simulate

    frame = simulate(config.simulator)
    rows = frame.height
    if ctx is not None:
        frame = drop_absent(ctx.validate(frame, source="simulator"))
    return Transactions(canonical(frame, config.features.label_delay), "simulator", rows, rows - frame.height, 0)


def loaded(config: FraudConfig, ctx: RunContext) -> Transactions:
    """The user's ``--data`` through the transactions DataSpec; rejected rows go to ctx (rejected.parquet)."""
    from seek.data.spec import load_table

    if config.timezone == "UTC":
        table = ctx.load_table()
    else:  # naive times in another zone: the same spec with that zone on the timestamp field
        assert ctx.data is not None
        with ctx.stage("load"):
            table = load_table(ctx.data, transactions_spec(config.timezone))
        ctx.rows_in += table.rows_in
        ctx.reject(table.rejected)
        ctx.check_rejects(table.rows_in, table.rejected, table.source)
    frame = table.frame
    if frame.height == 0:
        raise DataError(
            f"{table.source}: no valid rows ({table.rows_in:,} read, {table.rejected.height:,} rejected"
            + (", see rejected.parquet)" if table.rejected.height else ")")
        )
    if "is_fraud" not in frame.columns or frame.get_column("is_fraud").null_count() == frame.height:
        raise DataError(f"{table.source}: no is_fraud labels; training needs them (map yours with --map is_fraud=COL)")
    unlabelled = frame.get_column("is_fraud").null_count()
    if unlabelled:
        ctx.logger.warning("%s: %s rows have no label: used for features, left out of training and evaluation",
                           table.source, f"{unlabelled:,}")  # fmt: skip
    return Transactions(
        canonical(drop_absent(frame), config.features.label_delay),
        table.source,
        table.rows_in,
        table.rejected.height,
        unlabelled,
    )


#: Optional fields: a column the input does not have comes back all-null from the schema step.
_OPTIONAL = ("merchant_category", "device_id", "ip_lat", "ip_lon", "session_events", "session_seconds")


def drop_absent(frame: pl.DataFrame) -> pl.DataFrame:
    """Drop the optional fields that hold no value: their features would be constants, their modality absent."""
    return frame.drop([c for c in _OPTIONAL if c in frame.columns and frame.get_column(c).null_count() == frame.height])
