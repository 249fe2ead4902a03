"""Decision thresholds set to a false-positive budget, the recall they buy, and score counts per bin."""

from __future__ import annotations

from typing import Any

import numpy as np


def threshold_at_fpr(labels: Any, scores: Any, max_fpr: float = 0.003) -> float:
    """The lowest score threshold (``score >= threshold`` alerts) whose false-positive rate is at most ``max_fpr``.

    Set it on a validation period and apply it unchanged to the test period: the test FPR then shows
    how well the budget holds on new data.
    """
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    if not 0 < max_fpr < 1:
        raise ValueError(f"max_fpr must be in (0, 1), got {max_fpr}")
    negatives = np.sort(scores[labels == 0])[::-1]
    if negatives.size == 0:
        return float(scores.min()) if scores.size else float("nan")
    allowed = int(np.floor(max_fpr * negatives.size))
    if allowed >= negatives.size:
        return float(scores.min())
    # Just above the (allowed+1)-th highest negative: at most `allowed` negatives reach the threshold.
    return float(np.nextafter(negatives[allowed], np.inf))


def recall_at_fpr(labels: Any, scores: Any, max_fpr: float = 0.003) -> float:
    """Highest recall reachable with a false-positive rate of at most ``max_fpr`` (NaN with one class only)."""
    from sklearn.metrics import roc_curve

    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    if labels.size == 0 or labels.min() == labels.max():
        return float("nan")
    fpr, tpr, _ = roc_curve(labels, scores)
    return float(tpr[fpr <= max_fpr].max())


def score_counts(labels: Any, scores: Any, bins: int = 10) -> list[dict[str, float]]:
    """The score distribution as counts: per equal-width bin of [0, 1], how many negatives and positives fall in it."""
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, bins - 1)
    rows = []
    for b in range(bins):
        inside = which == b
        rows.append(
            {
                "low": float(edges[b]),
                "high": float(edges[b + 1]),
                "negatives": int(np.sum(inside & (labels == 0))),
                "positives": int(np.sum(inside & (labels == 1))),
            }
        )
    return rows
