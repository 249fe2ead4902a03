"""Offline features: no look-ahead, the same-timestamp rule, brute-force equality, optional modalities."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from seek_finance.features import FeatureConfig, compute_features, feature_names

CFG = FeatureConfig()


def _equal(a: pl.DataFrame, b: pl.DataFrame, names: list[str]) -> None:
    from polars.testing import assert_frame_equal

    assert_frame_equal(a.select(names), b.select(names), check_exact=False, rel_tol=1e-9, abs_tol=1e-9)


def test_changing_the_future_leaves_earlier_features_unchanged(small_frame: pl.DataFrame) -> None:
    names = feature_names(small_frame.columns, CFG)
    cut = datetime(2018, 4, 25)
    rng = np.random.default_rng(0)
    future = pl.col("timestamp") >= cut
    n = small_frame.height
    perturbed = small_frame.with_columns(
        pl.when(future).then(pl.Series(rng.uniform(0, 5000, n))).otherwise(pl.col("amount")).alias("amount"),
        pl.when(future).then(pl.Series(rng.integers(0, 5, n))).otherwise(pl.col("terminal_id")).alias("terminal_id"),
        pl.when(future).then(pl.Series(rng.integers(0, 3, n))).otherwise(pl.col("device_id")).alias("device_id"),
        pl.when(future).then(pl.lit(1, dtype=pl.Int8)).otherwise(pl.col("is_fraud")).alias("is_fraud"),
        pl.when(future).then(pl.lit(0.0)).otherwise(pl.col("ip_lat")).alias("ip_lat"),
        pl.when(future).then(pl.lit("login_fail|payment")).otherwise(pl.col("session_events")).alias("session_events"),
    )
    before = compute_features(small_frame, CFG).filter(pl.col("timestamp") < cut)
    after = compute_features(perturbed, CFG).filter(pl.col("timestamp") < cut)
    assert before.height > 1000
    _equal(before, after, names)


def test_labels_not_yet_known_do_not_change_features(small_frame: pl.DataFrame) -> None:
    names = feature_names(small_frame.columns, CFG)
    cut = datetime(2018, 4, 25)
    unknown_at_cut = pl.col("timestamp") >= cut - timedelta(days=7)  # labels the delay hides at the cut
    flipped = small_frame.with_columns(
        pl.when(unknown_at_cut).then(1 - pl.col("is_fraud")).otherwise(pl.col("is_fraud")).alias("is_fraud")
    )
    before = compute_features(small_frame, CFG).filter(pl.col("timestamp") < cut)
    after = compute_features(flipped, CFG).filter(pl.col("timestamp") < cut)
    _equal(before, after, names)
    # ...while flipping labels that are known does change the terminal risk, so the check can fail.
    known = small_frame.with_columns(
        pl.when(pl.col("timestamp") < cut - timedelta(days=8))
        .then(1 - pl.col("is_fraud"))
        .otherwise(pl.col("is_fraud"))
        .alias("is_fraud")
    )
    changed = compute_features(known, CFG).filter(pl.col("timestamp") < cut)
    assert not before["term_risk_7d"].equals(changed["term_risk_7d"])


def _brute(frame: pl.DataFrame, row: dict) -> dict:
    """Features of one row by scanning every other row: the definitions, written out plainly."""
    t = row["timestamp"]
    rows = frame.to_dicts()
    card = [r for r in rows if r["customer_id"] == row["customer_id"] and r["timestamp"] < t]
    out = {}
    for w, span in (("1h", timedelta(hours=1)), ("1d", timedelta(days=1)), ("30d", timedelta(days=30))):
        inside = [r for r in card if r["timestamp"] >= t - span]
        out[f"cust_count_{w}"] = len(inside)
        out[f"cust_sum_{w}"] = sum(r["amount"] for r in inside)
        out[f"cust_max_{w}"] = max((r["amount"] for r in inside), default=None)
        out[f"cust_distinct_terminals_{w}"] = len({r["terminal_id"] for r in inside}) if w != "1h" else None
    last = max(card, key=lambda r: (r["timestamp"], r["transaction_id"]), default=None)
    out["cust_secs_since_prev"] = (t - last["timestamp"]).total_seconds() if last else None
    end = t - timedelta(days=7)
    term = [
        r for r in rows if r["terminal_id"] == row["terminal_id"] and end - timedelta(days=7) <= r["timestamp"] < end
    ]
    out["term_known_count_7d"] = len(term)
    out["term_risk_7d"] = sum(r["is_fraud"] for r in term) / len(term) if term else 0.0
    known = [
        r["timestamp"]
        for r in rows
        if r["terminal_id"] == row["terminal_id"]
        and r["is_fraud"] == 1
        and end - timedelta(days=30) <= r["timestamp"] < end
    ]
    days = lambda at: (t - at).total_seconds() / 86400  # noqa: E731
    out["term_days_since_last_known_fraud"] = days(max(known)) if known else None
    out["term_days_since_first_known_fraud"] = days(min(known)) if known else None
    on_device = [r for r in rows if r["device_id"] == row["device_id"] and r["timestamp"] < t]
    out["device_n_customers"] = len({r["customer_id"] for r in on_device})
    out["device_new_for_customer"] = int(row["customer_id"] not in {r["customer_id"] for r in on_device})
    return out


def test_features_equal_a_brute_force_scan(small_frame: pl.DataFrame) -> None:
    feats = compute_features(small_frame, CFG)
    rng = np.random.default_rng(1)
    picks = rng.choice(np.arange(feats.height // 2, feats.height), size=25, replace=False)
    for i in picks:
        row = feats.row(int(i), named=True)
        for name, expected in _brute(small_frame, row).items():
            if expected is None and "distinct" in name:
                continue
            got = row[name]
            if expected is None:
                assert got is None, name
            else:
                assert math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-9), (name, got, expected)


def _tied_frame(first_id: int, second_id: int) -> pl.DataFrame:
    t0, t1 = datetime(2020, 1, 1, 10), datetime(2020, 1, 1, 10, 30)
    return pl.DataFrame(
        {
            "transaction_id": [1, first_id, second_id, 9],
            "timestamp": [t0, t1, t1, t1 + timedelta(minutes=1)],
            "customer_id": [7, 7, 7, 7],
            "terminal_id": [1, 2, 3, 4],
            "amount": [10.0, 20.0, 30.0, 40.0],
        }
    )


def test_known_fraud_ages_count_only_labels_past_the_delay_within_the_longest_risk_window() -> None:
    day = datetime(2020, 3, 1)
    at = [day, day + timedelta(days=2), day + timedelta(days=9), day + timedelta(days=10), day + timedelta(days=45)]
    frame = pl.DataFrame(
        {
            "transaction_id": [1, 2, 3, 4, 5],
            "timestamp": at,
            "customer_id": [1, 2, 3, 4, 5],
            "terminal_id": [8, 8, 8, 8, 8],
            "amount": [10.0] * 5,
            "is_fraud": [1, 1, 0, 0, 0],
        }
    )
    feats = compute_features(frame, CFG)
    # Day 9: the day-2 fraud is known from day 9 on only strictly after; at exactly t - 7 days it is not yet.
    assert feats["term_days_since_last_known_fraud"].to_list() == [None, None, 9.0, 8.0, None]
    assert feats["term_days_since_first_known_fraud"].to_list() == [None, None, 9.0, 10.0, None]
    off = FeatureConfig(fraud_ages=False)
    assert "term_days_since_last_known_fraud" not in compute_features(frame, off).columns
    assert "term_days_since_first_known_fraud" not in feature_names(frame.columns, off)


def test_same_timestamp_payments_do_not_see_each_other() -> None:
    feats = compute_features(_tied_frame(5, 3), CFG)
    assert feats["transaction_id"].to_list() == [1, 3, 5, 9]  # output order is (timestamp, transaction_id)
    tied = feats.filter(pl.col("transaction_id").is_in([3, 5]))
    assert tied["cust_count_1h"].to_list() == [1, 1]
    assert tied["cust_sum_1h"].to_list() == [10.0, 10.0]
    assert tied["cust_secs_since_prev"].to_list() == [1800.0, 1800.0]
    later = feats.filter(pl.col("transaction_id") == 9)
    assert later["cust_count_1h"].item() == 3 and later["cust_secs_since_prev"].item() == 60.0


def test_swapping_the_ids_of_tied_payments_changes_nothing_but_the_order() -> None:
    names = feature_names(_tied_frame(5, 3).columns, CFG)
    a = compute_features(_tied_frame(5, 3), CFG).sort("amount")
    b = compute_features(_tied_frame(3, 5), CFG).sort("amount")
    _equal(a, b, names)


def test_core_fields_and_a_label_are_enough(small_frame: pl.DataFrame) -> None:
    core = small_frame.select("transaction_id", "timestamp", "customer_id", "terminal_id", "amount", "is_fraud")
    feats = compute_features(core, CFG)
    names = feature_names(core.columns, CFG)
    assert "term_risk_7d" in names and "device_n_customers" not in names and "session_n_events" not in names
    assert feats.select(names).height == core.height


def test_a_malformed_window_is_a_config_error() -> None:
    from seek.config import resolve_config
    from seek.errors import ConfigError
    from seek_finance.app import FraudConfig

    with pytest.raises(ConfigError, match=r"features\.customer_windows.*90x"):
        resolve_config(FraudConfig, overrides=['features.customer_windows=["90x"]'])
