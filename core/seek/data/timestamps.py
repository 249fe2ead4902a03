"""Casting any timestamp a file may hold to the one type Seek uses: naive ``datetime[us]`` holding UTC.

Every datetime field comes out of the schema as polars ``Datetime("us")`` with no time zone attached,
whose wall-clock value is UTC (DESIGN: "times are UTC datetime", one type). What goes in:

- text with an offset (``2024-03-01T10:00:00+02:00``, ``+0200``, ``Z``, `` UTC``): converted to UTC;
- naive text (``2024-03-01 10:00:00``): read in the field's ``timezone`` (an IANA name, default
  ``"UTC"``) and converted to UTC; a local time that does not exist (a DST gap) is not a timestamp,
  one that happens twice (DST fall-back) takes the earlier instant;
- one file may mix all of these, and several ISO-8601 layouts (``T`` or space, with or without
  seconds and fractions); a ``format`` on the field fixes the naive layout instead;
- epoch numbers, as numbers or as digit strings of 9+ digits: seconds, milliseconds, microseconds or
  nanoseconds, told apart by magnitude (|v| < 1e11 s, < 1e14 ms, < 1e17 us, else ns) unless the field
  sets ``epoch_unit``;
- native polars / pandas datetimes of any unit (ns, us, ms), naive (read in ``timezone``) or with a
  time zone (converted), and dates (midnight UTC).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seek.errors import ConfigError

if TYPE_CHECKING:
    import polars as pl

#: Offsets, ``Z`` and ``UTC`` at the end of a timestamp.
_OFFSET = r"(?:[+-]\d{2}:?\d{2}|[zZ]|\s*UTC)$"
_EPOCH_TEXT = r"^[+-]?\d{9,}(?:\.\d+)?$"
_TO_US = {"s": 1_000_000.0, "ms": 1_000.0, "us": 1.0, "ns": 0.001}


def check_timezone(name: str, owner: str) -> None:
    """Raise ConfigError unless ``name`` is an IANA time zone."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{owner}: unknown time zone {name!r} (use an IANA name such as 'Europe/Paris')") from None


def probe(frame: pl.LazyFrame, column: str) -> tuple[bool, bool]:
    """Whether a text column holds any offset timestamps and any epoch digit strings (one cheap pass)."""
    import polars as pl

    text = pl.col(column).str.strip_chars()
    found = frame.select(
        text.str.contains(_OFFSET).any().alias("offset"), text.str.contains(_EPOCH_TEXT).any().alias("epoch")
    ).collect()
    return bool(found["offset"].item()), bool(found["epoch"].item())


def cast_datetime(
    raw: pl.Expr,
    raw_dtype: Any,
    *,
    timezone: str = "UTC",
    format: str | None = None,
    epoch_unit: str | None = None,
    offsets: bool = True,
    epochs: bool = True,
) -> pl.Expr:
    """The expression turning ``raw`` (of ``raw_dtype``) into naive UTC ``Datetime("us")``; null where it is not one.

    ``offsets`` / ``epochs`` (from :func:`probe`) leave out the branches a text column does not need.
    """
    import polars as pl

    if isinstance(raw_dtype, pl.Datetime):
        zoned = raw if raw_dtype.time_zone is not None else _local(raw, timezone)
        return zoned.dt.convert_time_zone("UTC").dt.replace_time_zone(None).dt.cast_time_unit("us")
    if raw_dtype == pl.Date:
        return raw.cast(pl.Datetime("us"))
    if raw_dtype.is_numeric():
        return from_epoch(raw.cast(pl.Float64), epoch_unit)
    if raw_dtype == pl.Boolean:
        return pl.lit(None, dtype=pl.Datetime("us"))
    text = raw.cast(pl.String).str.strip_chars()
    if format is not None:
        naive_text = text
    else:
        naive_text = text if not offsets else pl.when(~text.str.contains(_OFFSET)).then(text)
    naive = _local(naive_text.str.to_datetime(format, strict=False, time_unit="us"), timezone)
    parsed = naive.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    if offsets and (format is None or "%z" in format):
        aware_text = text.str.replace(r"(?:[zZ]|\s*UTC)$", "+00:00")
        aware_format = format if format is not None and "%z" in format else None
        aware = (
            pl.when(text.str.contains(_OFFSET))
            .then(aware_text)
            .str.to_datetime(aware_format, strict=False, time_unit="us", time_zone="UTC")
            .dt.replace_time_zone(None)
        )
        parsed = pl.when(text.str.contains(_OFFSET)).then(aware).otherwise(parsed)
    if epochs:
        epoch = from_epoch(
            pl.when(text.str.contains(_EPOCH_TEXT)).then(text).cast(pl.Float64, strict=False), epoch_unit
        )
        parsed = pl.when(text.str.contains(_EPOCH_TEXT)).then(epoch).otherwise(parsed)
    return parsed


def _local(naive: pl.Expr, timezone: str) -> pl.Expr:
    return naive.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")


def from_epoch(value: pl.Expr, unit: str | None) -> pl.Expr:
    """Epoch numbers (float) to naive UTC ``Datetime("us")``; the unit told by magnitude unless given."""
    import polars as pl

    if unit is not None:
        factor: pl.Expr = pl.lit(_TO_US[unit])
    else:
        size = value.abs()
        factor = (
            pl.when(size < 1e11)
            .then(pl.lit(_TO_US["s"]))
            .when(size < 1e14)
            .then(pl.lit(_TO_US["ms"]))
            .when(size < 1e17)
            .then(pl.lit(_TO_US["us"]))
            .otherwise(pl.lit(_TO_US["ns"]))
        )
    micros = value * factor
    # Beyond about year 294,000 microseconds overflow Int64: not a timestamp.
    fits = value.is_finite() & (micros.abs() < 9.2e18)
    return pl.when(fits).then(micros.round(0)).cast(pl.Int64, strict=False).cast(pl.Datetime("us"))
