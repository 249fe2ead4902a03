"""Features chunk by chunk of time, for data larger than memory: the same values as ``compute_features``.

Each chunk ``[start, start + chunk)`` is computed over the payments a feature of the chunk can see: those
since ``start - span`` (the longest window, terminal-risk windows reaching ``label_delay`` further back),
plus the history carried from earlier chunks: each card's last payment before that (time since the
previous payment, its position) and each (device, card)'s first payment (new device, customers of the
device). Older payments change no feature of the chunk, so the values equal the in-memory path (tested).

The input is a polars LazyFrame (``pl.scan_parquet``) in the canonical schema; only one chunk's context
is in memory at a time. The cost is that context rows are recomputed with every chunk: with the default
37-day span, a 30-day chunk computes about (37 + 30) / 30 = 2.2x the rows once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from seek_finance.app import FeatureConfig

if TYPE_CHECKING:
    import polars as pl


def feature_span(cfg: FeatureConfig) -> timedelta:
    """How far back any feature of a payment looks."""
    spans = [*cfg.customer_windows, *cfg.distinct_windows, *cfg.terminal_windows, *cfg.device_windows]
    spans += [cfg.usual_window, *(w + cfg.label_delay for w in cfg.risk_windows)]
    return max(spans)


def compute_features_chunked(
    source: pl.LazyFrame, cfg: FeatureConfig | None = None, chunk: timedelta = timedelta(days=30)
) -> Iterator[pl.DataFrame]:
    """Yield the features of each time chunk in order (each sorted by timestamp, transaction_id)."""
    import polars as pl

    from seek_finance.features import compute_features

    cfg = cfg or FeatureConfig()
    span = feature_span(cfg)
    columns = source.collect_schema().names()
    bounds = source.select(pl.col("timestamp").min().alias("a"), pl.col("timestamp").max().alias("b")).collect()
    first, last = bounds["a"][0], bounds["b"][0]
    if first is None:
        return
    start: datetime = datetime.combine(first.date(), datetime.min.time())
    has_device = "device_id" in columns
    last_per_card: pl.DataFrame | None = None  # each card's last payment before the context
    first_per_device: pl.DataFrame | None = None  # each (device, card)'s first payment before the context
    ts = pl.col("timestamp")
    while start <= last:
        end = start + chunk
        context = source.filter((ts >= start - span) & (ts < end)).collect()
        carried = [c for c in (last_per_card, first_per_device) if c is not None]
        frame = pl.concat([*carried, context]).unique("transaction_id", keep="first") if carried else context
        feats = compute_features(frame, cfg)
        yield feats.filter((ts >= start) & (ts < end))
        leaving = context.filter(ts < end - span)  # before the next chunk's context
        last_per_card = _keep(last_per_card, leaving, ["customer_id"], "last")
        if has_device:
            first_per_device = _keep(first_per_device, leaving.filter(pl.col("device_id").is_not_null()),
                                     ["device_id", "customer_id"], "first")  # fmt: skip
        start = end


def _keep(carried: pl.DataFrame | None, rows: pl.DataFrame, by: list[str], which: str) -> pl.DataFrame:
    """The first or last row (in time order) per ``by`` of the carried rows and ``rows`` together."""
    import polars as pl

    both = pl.concat([carried, rows]) if carried is not None else rows
    ordered = both.sort("timestamp", "transaction_id")
    picked = ordered.group_by(by, maintain_order=True).agg(pl.all().last() if which == "last" else pl.all().first())
    return picked.select(both.columns)
