"""The Handbook protocol's metrics on hand-made examples."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

from seek.evaluation import recall_at_fpr, threshold_at_fpr
from seek_finance.evaluate import Periods, card_precision_at_k, known_compromised


def test_card_precision_counts_cards_and_drops_cards_found_on_earlier_days() -> None:
    days = np.array([0, 0, 0, 0, 1, 1, 1])
    cards = np.array([1, 1, 2, 3, 1, 2, 3])
    labels = np.array([1, 0, 0, 0, 0, 1, 0])
    scores = np.array([0.9, 0.1, 0.8, 0.2, 0.99, 0.5, 0.4])
    # Day 0, top 2 cards: 1 (fraud), 2 -> 1/2. Day 1: card 1 already found, top 2 of {2, 3}: 2 (fraud) -> 1/2.
    assert card_precision_at_k(days, cards, labels, scores, k=2) == 0.5
    # Top 1: day 0 card 1 (fraud); day 1 card 1 would lead with 0.99 but was found already, so card 2.
    assert card_precision_at_k(days, cards, labels, scores, k=1) == 1.0


def test_recall_at_fpr_and_its_threshold_agree() -> None:
    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(10000, int), np.ones(100, int)]
    scores = np.r_[rng.normal(0, 1, 10000), rng.normal(3, 1, 100)]
    threshold = threshold_at_fpr(labels, scores, 0.003)
    fpr = np.mean(scores[labels == 0] >= threshold)
    assert fpr <= 0.003
    assert np.mean(scores[labels == 1] >= threshold) == recall_at_fpr(labels, scores, 0.003)


def test_cards_with_frauds_known_before_the_day_are_removed() -> None:
    periods = Periods.before_test(datetime(2020, 1, 20), *(timedelta(days=d) for d in (7, 0, 7, 3)))
    frame = pl.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2],
            "timestamp": [
                datetime(2020, 1, 12, 9),
                datetime(2020, 1, 20, 9),
                datetime(2020, 1, 19, 9),
                datetime(2020, 1, 16, 9),
                datetime(2020, 1, 22, 9),
            ],
            "is_fraud": [1, 0, 0, 1, 0],
        }
    ).with_columns((pl.col("timestamp") + pl.duration(days=7)).alias("label_available_at"))
    # Card 1's fraud of the 12th is known on the 19th 09:00, so from the 20th on; card 2's of the 16th
    # is known on the 23rd only, so its payment of the 22nd stays.
    assert known_compromised(frame, periods, timedelta(days=14)).to_list() == [False, True, False, False, False]
