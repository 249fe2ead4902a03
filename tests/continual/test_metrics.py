"""Decay, forgetting, backward transfer and average error against hand-computed values."""

from __future__ import annotations

import pytest

from seek.continual.metrics import average, backward_transfer, decay, forgetting, markdown, summary

# MAE after learning quarter k (rows) on quarter j's test set (columns)
R = [
    [10.0, 14.0, 20.0],
    [11.0, 8.0, 18.0],
    [12.0, 10.0, 5.0],
]


def test_decay_matches_a_hand_computed_example() -> None:
    # quarter 1: (12 - 10) / 10 = 0.20; quarter 2: (10 - 8) / 8 = 0.25; mean 0.225
    assert decay(R) == pytest.approx(0.225)


def test_backward_transfer_and_forgetting_in_error_units() -> None:
    assert backward_transfer(R) == pytest.approx(((12 - 10) + (10 - 8)) / 2)
    # best before the last update: quarter 1 min(10, 11) = 10, quarter 2 min(8) = 8
    assert forgetting(R) == pytest.approx(((12 - 10) + (10 - 8)) / 2)
    assert average(R) == pytest.approx((12 + 10 + 5) / 3)


def test_accuracy_forgetting_uses_the_best_earlier_value() -> None:
    acc = [[0.9, 0.1], [0.7, 0.95]]
    assert forgetting(acc, higher_is_better=True) == pytest.approx(0.2)
    assert backward_transfer(acc, higher_is_better=True) == pytest.approx(-0.2)
    assert "decay" not in summary(acc, higher_is_better=True)


def test_one_task_has_no_decay_and_ragged_matrices_are_refused() -> None:
    assert decay([[3.0]]) == 0.0
    with pytest.raises(ValueError, match="square"):
        decay([[1.0, 2.0], [1.0]])


def test_summary_and_markdown_cover_every_value() -> None:
    out = summary(R)
    assert out["last_task"] == 5.0 and out["decay"] == pytest.approx(0.225)
    table = markdown(R, ["Q1", "Q2", "Q3"], "{:.1f}")
    assert table.count("\n") == 4 and "| Q3 | 12.0 | 10.0 | 5.0 |" in table
