"""The alert queue at a decision threshold, day by day: what an analyst sees and how much of it is real."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class AlertQueue:
    """Per-day counts of the alert queue (``score >= threshold``) and their totals.

    ``days`` are the day labels given (any sortable values, e.g. ISO dates); ``alert_precision`` is the
    share of alerts that are positives over the whole period (NaN when nothing was alerted).
    """

    days: list[Any]
    payments: list[int]
    alerts: list[int]
    entities_alerted: list[int]
    true_alerts: list[int]
    positives: list[int]

    @property
    def alerts_per_day(self) -> float:
        """Mean alerts per day."""
        return float(np.mean(self.alerts)) if self.days else float("nan")

    @property
    def entities_alerted_per_day(self) -> float:
        """Mean distinct entities (e.g. cards) alerted per day."""
        return float(np.mean(self.entities_alerted)) if self.days else float("nan")

    @property
    def alert_precision(self) -> float:
        """True alerts / alerts over the whole period."""
        total = sum(self.alerts)
        return sum(self.true_alerts) / total if total else float("nan")

    def precision(self, i: int) -> float:
        """Alert precision of day ``i`` (NaN on a day without alerts)."""
        return self.true_alerts[i] / self.alerts[i] if self.alerts[i] else float("nan")

    def markdown(self, entity: str = "entities") -> str:
        """The queue as a Markdown table, one row per day and a total row."""
        lines = [
            f"| day | payments | alerts | {entity} alerted | true alerts | alert precision | positives |",
            "|---|---|---|---|---|---|---|",
        ]
        for i, day in enumerate(self.days):
            lines.append(
                f"| {day} | {self.payments[i]:,} | {self.alerts[i]:,} | {self.entities_alerted[i]:,} | "
                f"{self.true_alerts[i]:,} | {_pct(self.precision(i))} | {self.positives[i]:,} |"
            )
        lines.append(
            f"| **mean per day** | {np.mean(self.payments):,.1f} | {self.alerts_per_day:,.1f} | "
            f"{self.entities_alerted_per_day:,.1f} | {np.mean(self.true_alerts):,.1f} | "
            f"{_pct(self.alert_precision)} | {np.mean(self.positives):,.1f} |"
        )
        return "\n".join(lines)


def _pct(value: float) -> str:
    return "-" if value != value else f"{value:.1%}"


def alert_queue(days: Any, entities: Any, labels: Any, scores: Any, threshold: float) -> AlertQueue:
    """Count, for each day, payments, alerts, distinct entities alerted, true alerts and positives."""
    days, entities = np.asarray(days), np.asarray(entities)
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    if not days.size == entities.size == labels.size == scores.size:
        raise ValueError("days, entities, labels and scores must have the same length")
    alert = scores >= threshold
    out: dict[str, list[Any]] = {k: [] for k in ("days", "payments", "alerts", "entities", "true", "positives")}
    for day in np.unique(days):
        today = days == day
        flagged = today & alert
        out["days"].append(day.item() if hasattr(day, "item") else day)
        out["payments"].append(int(today.sum()))
        out["alerts"].append(int(flagged.sum()))
        out["entities"].append(len(np.unique(entities[flagged])))
        out["true"].append(int((flagged & (labels == 1)).sum()))
        out["positives"].append(int((today & (labels == 1)).sum()))
    return AlertQueue(
        days=out["days"],
        payments=out["payments"],
        alerts=out["alerts"],
        entities_alerted=out["entities"],
        true_alerts=out["true"],
        positives=out["positives"],
    )
