"""PSI drift of a new batch against a stored profile."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from seek.continual.drift import drift, label, profile, psi


def _frame(shift: float, share_b: float, n: int = 4000, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {"distance": rng.normal(100 + shift, 10, n), "carrier": np.where(rng.random(n) < share_b, "B", "A")}
    )


def test_same_distribution_is_stable_and_a_shift_is_major() -> None:
    reference = profile(_frame(0, 0.3), ["distance"], ["carrier"])
    same = drift(reference, _frame(0, 0.3, seed=1))
    moved = drift(reference, _frame(15, 0.8, seed=1))
    assert max(same.values()) < 0.1 and label(max(same.values())) == "stable"
    assert moved["distance"] > 0.25 and moved["carrier"] > 0.25


def test_a_new_category_counts_as_drift() -> None:
    reference = profile(_frame(0, 0.0), [], ["carrier"])
    assert drift(reference, _frame(0, 0.5))["carrier"] > 0.25


def test_psi_of_identical_shares_is_zero() -> None:
    assert psi([0.2, 0.8], [0.2, 0.8]) == pytest.approx(0.0)
