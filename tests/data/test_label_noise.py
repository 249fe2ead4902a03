"""Confident-learning label-noise estimate."""

from __future__ import annotations

import numpy as np
import polars as pl

from seek.data.label_noise import confident_disagreement, label_noise_estimate


def test_confident_disagreement_on_a_hand_made_matrix() -> None:
    # Per-class thresholds: class 0 -> (0.9 + 0.1) / 2 = 0.5, class 1 -> (0.8 + 0.9) / 2 = 0.85.
    probs = np.array([[0.9, 0.1], [0.1, 0.9], [0.2, 0.8], [0.1, 0.9]])
    labels = np.array([0, 0, 1, 1])
    assert confident_disagreement(probs, labels).tolist() == [False, True, False, False]


def test_too_few_labelled_rows_give_no_estimate() -> None:
    frame = pl.DataFrame({"a": [0.1, 0.2, 0.3], "y": [0, 1, 0]})
    assert label_noise_estimate(frame, "y") is None
