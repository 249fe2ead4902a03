"""Delivery-time errors (MAE and MAPE in hours, late-flag AUC) and the report's plots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


def errors(hours_true: np.ndarray, hours_pred: np.ndarray) -> dict[str, float]:
    """``mae`` (hours) and ``mape`` (share, 0.1 = 10%) of predicted against actual delivery hours."""
    import numpy as np

    diff = np.abs(hours_pred - hours_true)
    return {"mae": float(diff.mean()), "mape": float((diff / np.maximum(hours_true, 1e-6)).mean())}


def late_auc(late_true: np.ndarray, late_score: np.ndarray) -> float:
    """ROC AUC of the late-probability head (NaN when only one class is present)."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    if len(np.unique(late_true)) < 2:
        return float("nan")
    return float(roc_auc_score(late_true, late_score))


def error_over_time_figure(
    quarters: Sequence[str], matrices: Mapping[str, Sequence[Sequence[float]]], metric: str = "MAE (hours)"
) -> Any:
    """One panel per old quarter: its test error after each update, one line per strategy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = len(quarters)
    fig, axes = plt.subplots(1, count, figsize=(3.2 * count, 3.0), sharey=True, squeeze=False)
    for j, ax in enumerate(axes[0]):
        for name, matrix in matrices.items():
            xs = list(range(j, count))
            ax.plot([quarters[k] for k in xs], [matrix[k][j] for k in xs], marker="o", label=name)
        ax.set_title(f"test set of {quarters[j]}")
        ax.set_xlabel("after update on")
        ax.tick_params(axis="x", rotation=45)
    axes[0][0].set_ylabel(metric)
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def decay_figure(decays: Mapping[str, float], target: float = 0.05) -> Any:
    """Bar chart of each strategy's decay with the 5% target line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    names = list(decays)
    ax.bar(names, [100 * decays[n] for n in names], color="#4c72b0")
    ax.axhline(100 * target, color="#c44e52", linestyle="--", label=f"target {target:.0%}")
    ax.set_ylabel("decay on old quarters (%)")
    ax.legend()
    fig.tight_layout()
    return fig
