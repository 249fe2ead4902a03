"""Drift: PSI and KS against a training reference (seek.monitoring.drift)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from seek.monitoring.drift import DriftThresholds, bin_counts, drift_table, feature_drift, psi
from seek.monitoring.reference import build_reference


@pytest.fixture(scope="module")
def training() -> pl.DataFrame:
    rng = np.random.default_rng(0)
    n = 20_000
    return pl.DataFrame(
        {
            "amount": rng.lognormal(3.0, 1.0, n),
            "age": rng.normal(40, 10, n),
            "channel": rng.choice(["web", "pos", "atm"], n, p=[0.5, 0.4, 0.1]).tolist(),
        }
    )


def test_psi_is_zero_for_identical_shares_and_grows_with_the_shift() -> None:
    assert psi([10, 20, 70], [1, 2, 7]) == pytest.approx(0.0)
    small, large = psi([50, 50], [45, 55]), psi([50, 50], [10, 90])
    assert 0 < small < 0.1 < large


def test_an_empty_bin_counts_as_a_large_finite_shift() -> None:
    value = psi([50, 50], [100, 0])
    assert math.isfinite(value) and value > 1


def test_bins_are_right_closed_on_the_inner_edges() -> None:
    assert bin_counts(np.array([-5.0, 1.0, 1.5, 2.0, 9.0]), [1.0, 2.0]).tolist() == [2, 2, 1]


def test_a_resample_of_the_reference_shows_no_drift(training: pl.DataFrame) -> None:
    ref = build_reference(training)
    again = training.sample(5_000, seed=7, with_replacement=True)
    table = drift_table(ref, {c: again.get_column(c) for c in again.columns})
    assert {r.feature for r in table.rows} == {"amount", "age", "channel"}
    assert table.drifted == [], table.markdown()
    assert all(r.psi < 0.02 for r in table.rows)
    numeric = [r for r in table.rows if r.kind == "numeric"]
    assert all(not r.ks_drift and r.ks_pvalue is not None and r.ks_pvalue > 0.01 for r in numeric)


def test_a_shifted_sample_is_flagged_by_psi_and_ks(training: pl.DataFrame) -> None:
    ref = build_reference(training)
    rng = np.random.default_rng(1)
    shifted = {
        "amount": rng.lognormal(3.6, 1.0, 5_000),  # amounts x1.8
        "age": rng.normal(41, 10, 5_000),  # a small shift: below the warning line
        "channel": rng.choice(["web", "pos", "atm"], 5_000, p=[0.2, 0.3, 0.5]).tolist(),
    }
    table = drift_table(ref, shifted)
    rows = {r.feature: r for r in table.rows}
    assert rows["amount"].level == "alert" and rows["amount"].ks_drift
    assert rows["channel"].level == "alert" and rows["channel"].ks is None
    assert rows["age"].level == "ok"
    assert table.rows[0].feature in ("amount", "channel")  # worst first
    assert set(table.gauges()) == {"amount", "age", "channel"}


def test_unseen_levels_fall_into_other() -> None:
    ref = build_reference(pl.DataFrame({"c": ["a"] * 500 + ["b"] * 500}))
    row = feature_drift(ref.features["c"], ["z"] * 300 + ["a"] * 300)
    assert row.level == "alert"


def test_too_few_served_values_are_not_judged(training: pl.DataFrame) -> None:
    ref = build_reference(training)
    row = feature_drift(ref.features["amount"], [1e6] * 20, DriftThresholds(min_samples=100))
    assert row.level == "n/a"


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="psi_alert"):
        DriftThresholds(psi_warn=0.3, psi_alert=0.2)
