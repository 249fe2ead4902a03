"""Errors in hours and the late AUC."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seek_logistics.evaluate import errors, late_auc


def test_mae_and_mape_match_hand_computed_values() -> None:
    out = errors(np.array([10.0, 20.0]), np.array([12.0, 15.0]))
    assert out["mae"] == pytest.approx(3.5)
    assert out["mape"] == pytest.approx((0.2 + 0.25) / 2)


def test_late_auc_is_nan_with_one_class_and_one_for_a_perfect_ranking() -> None:
    assert math.isnan(late_auc(np.zeros(4), np.arange(4.0)))
    assert late_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
