"""Features computed chunk by chunk of time equal the in-memory features."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from seek_finance.app import FeatureConfig
from seek_finance.chunked import compute_features_chunked, feature_span
from seek_finance.features import compute_features, feature_names


@pytest.mark.parametrize("days", [3, 11])
def test_chunked_features_equal_the_in_memory_path(small_frame: pl.DataFrame, days: int) -> None:
    # Windows of at most 5 days over 40 days of data: the carried history matters in most chunks.
    cfg = FeatureConfig(
        customer_windows=["1h", "1d", "5d"],
        distinct_windows=["1d", "5d"],
        terminal_windows=["1h", "5d"],
        ratio_windows=["1d", "5d"],
        risk_windows=["1d", "3d"],
        label_delay="2d",
        usual_window="4d",
    )
    assert feature_span(cfg) == timedelta(days=5)
    frame = small_frame.drop("label_available_at", "fraud_scenario")
    names = feature_names(frame.columns, cfg)
    whole = compute_features(frame, cfg).select("transaction_id", *names)
    parts = list(compute_features_chunked(frame.lazy(), cfg, chunk=timedelta(days=days)))
    assert len(parts) == -(-40 // days)
    chunked = pl.concat(parts).select("transaction_id", *names)
    assert chunked.height == whole.height
    for name in names:
        a, b = whole.get_column(name), chunked.get_column(name)
        if a.dtype.is_float():
            assert ((a - b).abs().fill_null(0) <= 1e-9 * (1 + a.abs().fill_null(0))).all(), name
            assert (a.is_null() == b.is_null()).all(), name
        else:
            assert a.equals(b), name
