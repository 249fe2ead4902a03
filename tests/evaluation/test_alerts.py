"""The alert queue per day."""

from __future__ import annotations

import numpy as np
import pytest

from seek.evaluation import alert_queue


def test_alert_queue_counts_alerts_cards_and_true_alerts_per_day() -> None:
    days = np.array(["d1", "d1", "d1", "d2", "d2", "d2"])
    cards = np.array([1, 1, 2, 3, 4, 4])
    labels = np.array([1, 0, 0, 0, 1, 0])
    scores = np.array([0.9, 0.8, 0.1, 0.7, 0.95, 0.2])
    queue = alert_queue(days, cards, labels, scores, threshold=0.5)
    assert queue.days == ["d1", "d2"]
    assert queue.alerts == [2, 2] and queue.entities_alerted == [1, 2] and queue.true_alerts == [1, 1]
    assert queue.positives == [1, 1] and queue.payments == [3, 3]
    assert queue.alerts_per_day == 2.0 and queue.entities_alerted_per_day == 1.5
    assert queue.alert_precision == pytest.approx(0.5)
    table = queue.markdown("cards")
    assert "| d1 | 3 | 2 | 1 | 1 | 50.0% | 1 |" in table and "cards alerted" in table


def test_a_day_without_alerts_has_no_precision_and_lengths_must_agree() -> None:
    queue = alert_queue(np.array([1, 2]), np.array([1, 2]), np.array([0, 0]), np.array([0.1, 0.9]), 0.5)
    assert np.isnan(queue.precision(0)) and queue.alert_precision == 0.0
    with pytest.raises(ValueError, match="same length"):
        alert_queue(np.array([1]), np.array([1, 2]), np.array([0]), np.array([0.1]), 0.5)
