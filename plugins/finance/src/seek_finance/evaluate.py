"""The Fraud Detection Handbook's evaluation protocol: periods, known-compromised cards, its metrics.

What every scoring app reports (threshold at a target FPR, recall at it, the alert queue, ROC/PR and
score plots) comes from :mod:`seek.evaluation`; this module holds what is specific to card fraud.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import polars as pl

    from seek.app import Figure
    from seek.runs import RunFolder

#: Metric names, as written to metrics.json (fused model; ``lgbm_`` and ``seq_`` prefixes per model).
METRICS = ("auc_roc", "average_precision", "card_precision_at_100", "recall_at_fpr_0_3pct", "accuracy")


@dataclass(frozen=True)
class Periods:
    """Time-ordered periods: train, validation, delay (labels not yet known), test; half-open intervals."""

    train_start: datetime
    val_start: datetime
    delay_start: datetime
    test_start: datetime
    test_end: datetime

    @classmethod
    def before_test(
        cls, test_start: datetime, train: timedelta, validation: timedelta, delay: timedelta, test: timedelta
    ) -> Periods:
        """Lay the periods out backwards from the first test day."""
        delay_start = test_start - delay
        val_start = delay_start - validation
        return cls(val_start - train, val_start, delay_start, test_start, test_start + test)

    def describe(self) -> str:
        """One Markdown table of the periods."""
        rows = [
            ("train", self.train_start, self.val_start),
            ("validation", self.val_start, self.delay_start),
            ("delay (labels unknown)", self.delay_start, self.test_start),
            ("test", self.test_start, self.test_end),
        ]
        lines = ["| period | from | to (excl.) |", "|---|---|---|"]
        lines += [f"| {name} | {a:%Y-%m-%d %H:%M} | {b:%Y-%m-%d %H:%M} |" for name, a, b in rows]
        return "\n".join(lines)


def known_compromised(frame: pl.DataFrame, periods: Periods, lookback: timedelta) -> pl.Series:
    """True for rows whose card had a fraud with a label known before the row's day began.

    As in the Handbook, frauds count from ``test_start - lookback`` on (its 7 training days plus
    7 delay days = 14 by default); a card is dropped from a test day once one of its frauds' labels
    became available strictly before that day's midnight.
    """
    import polars as pl

    since = periods.test_start - lookback
    known_from = (
        frame.filter((pl.col("is_fraud") == 1) & (pl.col("timestamp") >= since))
        .group_by("customer_id")
        .agg(pl.col("label_available_at").min().alias("_known_from"))
    )
    joined = (
        frame.select("customer_id", "timestamp").with_row_index("_i").join(known_from, on="customer_id", how="left")
    )
    flag = (pl.col("_known_from") < pl.col("timestamp").dt.truncate("1d")).fill_null(False)
    return joined.sort("_i").select(flag.alias("known_compromised")).to_series()


def card_precision_at_k(
    days: np.ndarray, cards: np.ndarray, labels: np.ndarray, scores: np.ndarray, k: int = 100
) -> float:
    """Handbook CP@k: per day, the k cards with the highest max score; cards found on earlier days removed."""
    import polars as pl

    frame = pl.DataFrame({"day": days, "card": cards, "label": labels, "score": scores})
    detected: set[Any] = set()
    per_day = []
    for day in sorted(frame.get_column("day").unique().to_list()):
        cards_today = (
            frame.filter((pl.col("day") == day) & ~pl.col("card").is_in(list(detected)))
            .group_by("card")
            .agg(pl.col("score").max(), pl.col("label").max())
            .sort(["score", "card"], descending=[True, False])
            .head(k)
        )
        found = cards_today.filter(pl.col("label") == 1).get_column("card").to_list()
        per_day.append(len(found) / k)
        detected.update(found)
    return float(np.mean(per_day)) if per_day else float("nan")


def score_metrics(
    labels: np.ndarray, scores: np.ndarray, days: np.ndarray, cards: np.ndarray, threshold: float, prefix: str = ""
) -> dict[str, float]:
    """The protocol's metrics for one model's test scores; ``threshold`` decides fraud for accuracy."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    from seek.evaluation import recall_at_fpr

    both = labels.min() != labels.max()
    out = {
        "auc_roc": float(roc_auc_score(labels, scores)) if both else float("nan"),
        "average_precision": float(average_precision_score(labels, scores)) if both else float("nan"),
        "card_precision_at_100": card_precision_at_k(days, cards, labels, scores, 100),
        "recall_at_fpr_0_3pct": recall_at_fpr(labels, scores, 0.003),
        "accuracy": float(np.mean((scores >= threshold) == (labels == 1))),
    }
    return {f"{prefix}{k}": v for k, v in out.items()}


def plot_importance(run: RunFolder, names: list[str], gains: np.ndarray, top: int = 20) -> Figure:
    """Bar chart of the LightGBM features with the largest total gain."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seek.app import Figure

    order = np.argsort(gains)[::-1][:top][::-1]
    fig, ax = plt.subplots(figsize=(6, 0.28 * len(order) + 1))
    ax.barh([names[i] for i in order], gains[order] / max(gains.sum(), 1e-12))
    ax.set(xlabel="share of total gain", title="LightGBM feature importance")
    run.save_figure(fig, "figures/feature_importance.png")
    plt.close(fig)
    return Figure("Feature importance", "figures/feature_importance.png")
