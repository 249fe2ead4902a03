"""Online state: a replayed day gives exactly the offline polars features; labels arrive later."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import polars as pl

from seek_finance.features import FeatureConfig, compute_features, feature_names
from seek_finance.online import OnlineState, to_micros

CFG = FeatureConfig()


def _same(a: object, b: object) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None
    return b is not None and math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def test_replaying_a_day_online_gives_every_offline_feature(small_frame: pl.DataFrame) -> None:
    # A few payments share a timestamp with the one before, so the tie rule is exercised too.
    frame = small_frame.with_columns(
        pl.when(pl.col("transaction_id") % 40 == 1)
        .then(pl.col("timestamp").shift(1))
        .otherwise(pl.col("timestamp"))
        .fill_null(strategy="forward")
        .alias("timestamp")
    )
    offline = compute_features(frame, CFG)
    names = feature_names(frame.columns, CFG)
    day = datetime(2018, 5, 9)
    state = OnlineState(CFG, frame.columns)
    history = offline.filter(pl.col("timestamp") < day)
    for tx in history.iter_rows(named=True):
        state.observe(tx)
    replay = offline.filter((pl.col("timestamp") >= day) & (pl.col("timestamp") < day + timedelta(days=1)))
    assert replay.height > 150
    mismatches = []
    for tx in replay.iter_rows(named=True):
        online = state.process(tx)
        mismatches += [(tx["transaction_id"], n, tx[n], online[n]) for n in names if not _same(tx[n], online[n])]
    assert mismatches == []


def test_a_label_recorded_later_feeds_terminal_risk_after_the_delay() -> None:
    state = OnlineState(CFG, ["transaction_id", "timestamp", "customer_id", "terminal_id", "amount", "is_fraud"])
    t0 = datetime(2020, 1, 1, 12)
    state.observe(
        {"transaction_id": "a", "timestamp": t0, "customer_id": 1, "terminal_id": 9, "amount": 5.0, "is_fraud": None}
    )
    assert state.set_label("a", 1)
    probe = {"transaction_id": "b", "customer_id": 2, "terminal_id": 9, "amount": 5.0}
    assert state.features({**probe, "timestamp": t0 + timedelta(days=6)})["term_risk_7d"] == 0.0
    assert state.features({**probe, "timestamp": t0 + timedelta(days=7, seconds=1)})["term_risk_7d"] == 1.0
    assert not state.set_label("never-seen", 1)


def test_timestamps_are_read_from_datetimes_iso_strings_and_epoch_seconds() -> None:
    t = datetime(2020, 1, 1, 0, 0, 1)
    assert to_micros(t) == to_micros("2020-01-01T00:00:01") == to_micros("2020-01-01T01:00:01+01:00")
    assert to_micros(1577836801) == to_micros(t)
