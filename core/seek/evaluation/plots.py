"""ROC, precision-recall, score-distribution and alert-queue PNGs for a run's report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from seek.app import Figure

if TYPE_CHECKING:
    from seek.evaluation.alerts import AlertQueue
    from seek.runs import RunFolder


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_roc_pr(
    run: RunFolder, labels: Any, scores: Mapping[str, Any], max_fpr: float | None = None, folder: str = "figures"
) -> list[Figure]:
    """ROC and precision-recall curves of each named score on one set of labels (``roc.png``, ``pr.png``)."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    plt = _pyplot()
    labels = np.asarray(labels)
    fig_roc, ax = plt.subplots(figsize=(5, 4.5))
    for name, s in scores.items():
        fpr, tpr, _ = roc_curve(labels, np.asarray(s))
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], ":", color="grey")
    if max_fpr is not None:
        ax.axvline(max_fpr, ls="--", color="red", lw=0.8, label=f"FPR {max_fpr:.1%}")
    ax.set(xlabel="false-positive rate", ylabel="true-positive rate", title="ROC")
    ax.legend(loc="lower right")
    run.save_figure(fig_roc, f"{folder}/roc.png")
    plt.close(fig_roc)
    fig_pr, ax = plt.subplots(figsize=(5, 4.5))
    for name, s in scores.items():
        precision, recall, _ = precision_recall_curve(labels, np.asarray(s))
        ax.plot(recall, precision, label=name)
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall")
    ax.legend(loc="upper right")
    run.save_figure(fig_pr, f"{folder}/pr.png")
    plt.close(fig_pr)
    return [Figure("ROC curve", f"{folder}/roc.png"), Figure("Precision-recall curve", f"{folder}/pr.png")]


def plot_score_distribution(
    run: RunFolder, labels: Any, scores: Any, threshold: float | None = None, path: str = "figures/scores.png"
) -> Figure:
    """Histogram (counts, log scale) of the scores of negatives and positives, with the decision threshold."""
    plt = _pyplot()
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bins = np.linspace(0, 1, 51)
    ax.hist(scores[labels == 0], bins=bins, alpha=0.6, label="negative", log=True)
    ax.hist(scores[labels == 1], bins=bins, alpha=0.6, label="positive", log=True)
    if threshold is not None:
        ax.axvline(threshold, ls="--", color="black", lw=0.8, label="decision threshold")
    ax.set(xlabel="score", ylabel="count (log)", title="Score distribution")
    ax.legend()
    run.save_figure(fig, path)
    plt.close(fig)
    return Figure("Score distribution", path)


def plot_alert_queue(
    run: RunFolder, queue: AlertQueue, entity: str = "entities", path: str = "figures/alerts.png"
) -> Figure:
    """Alerts and entities alerted per day (bars) with the day's alert precision (line)."""
    plt = _pyplot()
    x = np.arange(len(queue.days))
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar(x - 0.2, queue.alerts, width=0.4, label="alerts")
    ax.bar(x + 0.2, queue.entities_alerted, width=0.4, label=f"{entity} alerted")
    ax.set_xticks(x, [str(d) for d in queue.days], rotation=30, ha="right", fontsize=7)
    ax.set(ylabel="per day", title="Alert queue at the decision threshold")
    right = ax.twinx()
    right.plot(x, [queue.precision(i) for i in range(len(queue.days))], "k.-", label="alert precision")
    right.set_ylim(0, 1)
    right.set_ylabel("alert precision")
    ax.legend(loc="upper left", fontsize=7)
    run.save_figure(fig, path)
    plt.close(fig)
    return Figure("Alert queue per day", path)
