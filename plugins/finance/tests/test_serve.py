"""The predictor: one way of scoring (parity with predictions.parquet), order and ids, refused records."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from seek.errors import DataError
from seek_finance.serve import FraudPredictor


def _test_start(run):
    preds = pl.read_parquet(run.file("predictions.parquet"))
    return preds, preds["timestamp"].min().replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.mark.slow
def test_replaying_the_test_week_gives_every_fused_score_of_predictions_parquet(finished_run) -> None:
    preds, start = _test_start(finished_run)
    predictor = FraudPredictor.load(finished_run.path, until=start)
    assert predictor.uses_sequence  # stacking: the sequence model has a say in every fused score
    history = pl.read_parquet(finished_run.file("model/history.parquet"))
    week = history.filter(pl.col("timestamp") >= start).drop("step", "is_fraud")
    answers = predictor.predict(week.to_dicts())
    served = dict(zip(week["transaction_id"].to_list(), [a["score"] for a in answers], strict=True))
    offline = dict(zip(preds["transaction_id"].to_list(), preds["score"].to_list(), strict=True))
    assert served.keys() == offline.keys()
    gaps = np.array([abs(served[k] - offline[k]) for k in offline])
    assert gaps.max() < 1e-6, gaps.max()


@pytest.fixture(scope="module")
def predictor_and_payment(finished_run):
    predictor = FraudPredictor.load(finished_run.path)
    history = pl.read_parquet(finished_run.file("model/history.parquet"))
    last = history.row(-1, named=True)
    tx = {k: v for k, v in last.items() if k not in ("step", "is_fraud")}
    tx |= {"transaction_id": 10**12, "timestamp": last["timestamp"] + timedelta(minutes=1), "amount": 4000.0}
    return predictor, tx


@pytest.mark.slow
def test_an_answer_has_a_score_a_decision_and_reason_codes(predictor_and_payment) -> None:
    predictor, tx = predictor_and_payment
    answer = predictor.predict([tx])[0]
    assert 0.0 <= answer["score"] <= 1.0 and isinstance(answer["is_fraud"], bool)
    assert answer["reasons"] and {"feature", "value", "contribution"} <= set(answer["reasons"][0])


@pytest.mark.slow
def test_a_payment_earlier_than_the_cards_last_is_refused(predictor_and_payment) -> None:
    predictor, tx = predictor_and_payment
    later = dict(tx, transaction_id=10**12 + 1, timestamp=tx["timestamp"] + timedelta(hours=1))
    predictor.predict([later])
    with pytest.raises(DataError, match=r"record 0 .*field 'timestamp'.*earlier than the card's last payment"):
        predictor.predict([dict(tx, transaction_id=10**12 + 2, timestamp=tx["timestamp"] + timedelta(minutes=5))])


@pytest.mark.slow
def test_an_id_sent_as_text_is_the_same_card(predictor_and_payment) -> None:
    predictor, tx = predictor_and_payment
    card = tx["customer_id"]
    as_int = predictor.state.features(predictor.check(0, dict(tx, timestamp=tx["timestamp"] + timedelta(days=1))))
    as_text = dict(tx, customer_id=f" {card} ", timestamp=tx["timestamp"] + timedelta(days=1))
    assert predictor.state.features(predictor.check(0, as_text)) == as_int
    assert as_int["cust_count_30d"] > 0  # a known card, not a new one


@pytest.mark.slow
@pytest.mark.parametrize(
    ("batch", "match"),
    [
        ({"transaction_id": 1}, "list of records"),
        (["not a record"], "record 0: expected a mapping"),
    ],
)
def test_a_batch_that_is_not_a_list_of_records_is_a_data_error(predictor_and_payment, batch, match) -> None:
    predictor, _ = predictor_and_payment
    with pytest.raises(DataError, match=match):
        predictor.predict(batch)


@pytest.mark.slow
def test_example_records_are_valid_for_the_predictor(finished_run) -> None:
    from seek_finance.app import FraudApp

    app = FraudApp()
    records = app.example_records(finished_run.path, 3)
    answers = app.predictor(finished_run.path).predict(records)
    assert len(answers) == 3 and all(0 <= a["score"] <= 1 for a in answers)
