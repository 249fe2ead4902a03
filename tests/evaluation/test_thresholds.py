"""Thresholds at a false-positive budget, recall at that budget, score counts."""

from __future__ import annotations

import numpy as np
import pytest

from seek.evaluation import recall_at_fpr, score_counts, threshold_at_fpr


def test_threshold_lets_through_at_most_the_allowed_share_of_negatives() -> None:
    rng = np.random.default_rng(0)
    labels = (rng.random(20_000) < 0.02).astype(int)
    scores = rng.random(20_000) + labels * 0.5
    for fpr in (0.001, 0.003, 0.05):
        threshold = threshold_at_fpr(labels, scores, fpr)
        negatives = scores[labels == 0]
        assert np.mean(negatives >= threshold) <= fpr
        # One notch lower lets in one negative too many: the threshold is the lowest that keeps the budget.
        lower = np.max(negatives[negatives < threshold])
        assert np.mean(negatives >= lower) > fpr


def test_recall_at_fpr_equals_the_recall_of_the_threshold_at_that_fpr() -> None:
    rng = np.random.default_rng(1)
    labels = (rng.random(5000) < 0.1).astype(int)
    scores = rng.normal(size=5000) + 2 * labels
    threshold = threshold_at_fpr(labels, scores, 0.01)
    assert recall_at_fpr(labels, scores, 0.01) == pytest.approx(np.mean(scores[labels == 1] >= threshold))


def test_one_class_gives_nan_recall_and_a_bad_budget_is_refused() -> None:
    assert np.isnan(recall_at_fpr(np.zeros(4), np.arange(4.0)))
    with pytest.raises(ValueError, match="max_fpr"):
        threshold_at_fpr(np.zeros(4), np.arange(4.0), 1.5)


def test_score_counts_add_up_and_put_one_in_the_last_bin() -> None:
    labels = np.array([0, 0, 1, 1, 0])
    rows = score_counts(labels, np.array([0.0, 0.05, 0.5, 1.0, 0.95]), bins=10)
    assert sum(r["negatives"] for r in rows) == 3 and sum(r["positives"] for r in rows) == 2
    assert rows[-1] == {"low": pytest.approx(0.9), "high": 1.0, "negatives": 1, "positives": 1}
    assert rows[0]["negatives"] == 2
