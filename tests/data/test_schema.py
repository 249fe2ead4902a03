"""Schema validation: types, ranges, required fields, timestamps; column mapping."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from seek.data.schema import Field, Rule, Schema, apply_mapping, validate
from seek.errors import ConfigError, DataError

NOW = dt.datetime(2025, 6, 1)
TX = Schema(
    [
        Field("tx_id", "str", required=True),
        Field("amount", "float", required=True, min=0),
        Field("timestamp", "datetime", required=True, not_future=True),
    ]
)


def test_bad_rows_are_rejected_with_their_reason_and_original_values() -> None:
    raw = pl.DataFrame(
        {
            "tx_id": ["a", "b", None, "d", "e", "f", "g"],
            "amount": ["1.5", "-2", "3", "NaN", "abc", "4", "5"],
            "timestamp": [
                "2025-01-01 10:00:00",
                "2025-01-02 00:00:00",
                "2025-01-01 00:00:00",
                "2025-01-01 00:00:00",
                "2025-01-01 00:00:00",
                "2030-01-01 00:00:00",
                "yesterday",
            ],
        }
    )
    valid, rejected = validate(raw, TX, source="tx.csv", now=NOW)
    assert valid["tx_id"].to_list() == ["a"]
    assert valid.schema["amount"] == pl.Float64 and valid.schema["timestamp"] == pl.Datetime("us")
    reasons = dict(zip(rejected["row"].to_list(), rejected["reason"].to_list(), strict=True))
    assert reasons == {
        1: "amount: -2 below the minimum 0",
        2: "tx_id: required value is missing",
        3: "amount: NaN",
        4: "amount: abc is not a number",
        5: "timestamp: 2030-01-01 00:00:00 is in the future",
        6: "timestamp: yesterday is not a timestamp",
    }
    assert rejected.filter(pl.col("row") == 4)["amount"].item() == "abc"
    assert valid.height + rejected.height == raw.height


def test_missing_required_column_names_source_and_column() -> None:
    with pytest.raises(DataError, match=r"tx\.csv: required column 'amount' is missing"):
        validate(pl.DataFrame({"tx_id": ["a"], "timestamp": ["2025-01-01"]}), TX, source="tx.csv", now=NOW)


def test_ints_bools_allowed_values_and_patterns_with_braces() -> None:
    schema = Schema(
        [
            Field("n", "int", min=1, max=10),
            Field("flag", "bool"),
            Field("kind", "category", allowed=["a", "b"]),
            Field("mcc", "str", pattern="[0-9]{4}"),
        ]
    )
    raw = pl.DataFrame(
        {
            "n": ["5", "11", "2.5", "3"],
            "flag": ["yes", "0", "maybe", "true"],
            "kind": ["a", "b", "a", "z"],
            "mcc": ["5411", "5411", "5411", "54"],
        }
    )
    valid, rejected = validate(raw, schema)
    assert valid.to_dicts() == [{"n": 5, "flag": True, "kind": "a", "mcc": "5411"}]
    assert rejected["reason"].to_list() == [
        "n: 11 above the maximum 10",
        "n: 2.5 is not an integer",
        "kind: z not one of a, b",
    ]


def test_optional_empty_values_pass_and_typed_input_is_accepted() -> None:
    schema = Schema([Field("x", "float", min=0), Field("when", "date", not_future=True)])
    raw = pl.DataFrame({"x": [1.0, None], "when": [dt.date(2024, 1, 1), None]})
    valid, rejected = validate(raw, schema, now=NOW)
    assert valid.height == 2 and rejected.height == 0


def test_rule_with_reject_removes_inconsistent_rows() -> None:
    schema = Schema(
        [Field("pickup", "datetime"), Field("delivery", "datetime")],
        rules=[
            Rule("delivery_after_pickup", pl.col("delivery") >= pl.col("pickup"), "delivery after pickup", reject=True)
        ],
    )
    raw = pl.DataFrame(
        {
            "pickup": ["2025-01-02 00:00:00", "2025-01-02 00:00:00"],
            "delivery": ["2025-01-03 00:00:00", "2025-01-01 00:00:00"],
        }
    )
    valid, rejected = validate(raw, schema, now=NOW)
    assert valid.height == 1 and rejected["reason"].item() == "rule delivery_after_pickup: delivery after pickup"


def test_apply_mapping_renames_and_names_missing_source_column() -> None:
    frame = pl.DataFrame({"TX_DATETIME": ["x"], "TX_AMOUNT": [1.0]})
    assert apply_mapping(frame, {"timestamp": "TX_DATETIME", "amount": "TX_AMOUNT"}).columns == ["timestamp", "amount"]
    with pytest.raises(DataError, match=r"f\.csv: column 'TX_ID' \(mapped to 'tx_id'\) not found"):
        apply_mapping(frame, {"tx_id": "TX_ID"}, source="f.csv")


def test_schema_definition_errors_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown type 'money'"):
        Field("x", "money")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="not_future only applies"):
        Field("x", "int", not_future=True)
    with pytest.raises(ConfigError, match="repeated"):
        Schema([Field("x"), Field("x")])
