"""What every scoring app reports: the threshold at a target false-positive rate, recall at that rate,
the alert queue an analyst works through per day, and ROC / precision-recall / score-distribution plots.

Heavy libraries (scikit-learn, matplotlib, polars) are imported inside the functions that need them.
"""

from __future__ import annotations

from seek.evaluation.alerts import AlertQueue, alert_queue
from seek.evaluation.plots import plot_alert_queue, plot_roc_pr, plot_score_distribution
from seek.evaluation.thresholds import recall_at_fpr, score_counts, threshold_at_fpr

__all__ = [
    "AlertQueue",
    "alert_queue",
    "plot_alert_queue",
    "plot_roc_pr",
    "plot_score_distribution",
    "recall_at_fpr",
    "score_counts",
    "threshold_at_fpr",
]
