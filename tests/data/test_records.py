"""Predictor records go through the schema that validated the training data."""

from __future__ import annotations

import datetime as dt

import pytest

from seek.data.records import records_frame
from seek.data.schema import Field, Schema
from seek.errors import DataError

SCHEMA = Schema(
    [
        Field("customer_id", "int", required=True),
        Field("amount", "float", required=True, min=0, max=1e7),
        Field("timestamp", "datetime", required=True),
        Field("ip_lat", "float", min=-90, max=90),
        Field("label", "int", required=True),
    ]
)


def test_ids_times_and_numbers_are_typed_as_for_a_file():
    frame = records_frame(
        [
            {"customer_id": "1187", "amount": 12.5, "timestamp": "2024-01-01T10:00:00+02:00"},
            {"customer_id": 1187, "amount": 3, "timestamp": dt.datetime(2024, 1, 1, 9, 0), "ip_lat": 10.0},
        ],
        SCHEMA,
        skip=["label"],
    )
    assert frame["customer_id"].to_list() == [1187, 1187]
    assert frame["timestamp"].to_list() == [dt.datetime(2024, 1, 1, 8, 0), dt.datetime(2024, 1, 1, 9, 0)]
    assert frame["ip_lat"].to_list() == [None, 10.0]


@pytest.mark.parametrize(
    ("record", "needle"),
    [
        ({"customer_id": 1, "amount": float("inf"), "timestamp": "2024-01-01"}, "record 0: amount"),
        ({"customer_id": 1, "amount": True, "timestamp": "2024-01-01"}, "record 0: amount"),
        ({"customer_id": 1, "amount": 1.0, "timestamp": "2024-01-01", "ip_lat": 999}, "record 0: ip_lat"),
        ({"customer_id": 1, "amount": "ten", "timestamp": "2024-01-01"}, "record 0: amount"),
        ({"customer_id": [1], "amount": 1.0, "timestamp": "2024-01-01"}, "record 0: field 'customer_id'"),
        ({"amount": 1.0, "timestamp": "2024-01-01"}, "record 0: field 'customer_id' is missing"),
    ],
)
def test_a_bad_record_is_one_error_naming_record_and_field(record, needle):
    with pytest.raises(DataError, match=needle):
        records_frame([record], SCHEMA, skip=["label"])


def test_a_dict_instead_of_a_list_is_refused():
    with pytest.raises(DataError, match="must be a list of records"):
        records_frame({"customer_id": 1}, SCHEMA)
