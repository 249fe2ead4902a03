"""Hostile predictor records: each is one DataError naming the record and the field."""

from __future__ import annotations

from datetime import datetime

import pytest

from seek.errors import DataError
from seek_finance.records import RecordChecker

GOOD = {
    "transaction_id": 7,
    "timestamp": "2018-08-14T10:00:00",
    "customer_id": 1187,
    "terminal_id": 55,
    "amount": 12.5,
    "device_id": "d-1",
    "ip_lat": 47.0,
    "ip_lon": 5.0,
    "session_events": "login_ok|payment",
    "session_seconds": 40.0,
}
CHECK = RecordChecker({"device": True, "geo": True}, {"transaction_id": "int", "customer_id": "int",
                                                     "terminal_id": "int", "device_id": "str"})  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"customer_id": None}, "customer_id"),  # a required field missing
        ({"device_id": None}, "device_id"),  # an optional modality the model uses, missing
        ({"ip_lat": None}, "ip_lat"),
        ({"customer_id": [1, 2]}, "customer_id"),  # unhashable id
        ({"terminal_id": {"id": 1}}, "terminal_id"),
        ({"customer_id": "card-7"}, "customer_id"),  # text where ids are integers
        ({"customer_id": True}, "customer_id"),
        ({"amount": "twelve"}, "amount"),  # text in a numeric field
        ({"amount": float("inf")}, "amount"),
        ({"amount": 1e308}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": -1.0}, "amount"),
        ({"ip_lat": 999}, "ip_lat"),
        ({"ip_lon": "east"}, "ip_lon"),
        ({"session_seconds": float("nan")}, "session_seconds"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"timestamp": [2018]}, "timestamp"),
        ({"timestamp": float("inf")}, "timestamp"),
        ({"is_fraud": 2}, "is_fraud"),
        ({"session_events": 5}, "session_events"),
    ],
)
def test_a_hostile_record_is_one_data_error_naming_the_record_and_the_field(change, field) -> None:
    record = {**GOOD, **change}
    with pytest.raises(DataError) as info:
        CHECK(3, record)
    message = str(info.value)
    assert message.startswith("record 3") and f"'{field}'" in message and "\n" not in message


def test_ids_are_normalised_to_the_training_type_and_times_to_naive_utc() -> None:
    tx = CHECK(0, {**GOOD, "customer_id": " 1187 ", "terminal_id": 55.0, "timestamp": "2018-08-14T12:00:00+02:00"})
    assert tx["customer_id"] == 1187 and tx["terminal_id"] == 55
    assert tx["timestamp"] == datetime(2018, 8, 14, 10)
    text_ids = RecordChecker({}, {"customer_id": "str"})
    assert text_ids(0, {**GOOD, "customer_id": 1187})["customer_id"] == "1187"


def test_naive_times_are_read_in_the_runs_timezone() -> None:
    brussels = RecordChecker({}, {}, timezone="Europe/Brussels")
    assert brussels(0, GOOD)["timestamp"] == datetime(2018, 8, 14, 8)
