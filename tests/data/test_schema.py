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
        2: "amount: -2 below the minimum 0",
        3: "tx_id: required value is missing",
        4: "amount: NaN",
        5: "amount: abc is not a number",
        6: "timestamp: 2030-01-01 00:00:00 is in the future",
        7: "timestamp: yesterday is not a timestamp",
    }
    assert rejected.filter(pl.col("row") == 5)["amount"].item() == "abc"
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


def test_integral_floats_are_integers_and_fractions_are_not() -> None:
    schema = Schema([Field("n", "int", required=True)])
    kept, rejected = validate(pl.DataFrame({"n": ["0.0", "1.0", " 3 ", "1e3", "-2.0", "1.5", "inf", "nan"]}), schema)
    assert kept["n"].to_list() == [0, 1, 3, 1000, -2]
    assert rejected["reason"].to_list() == [
        "n: 1.5 is not an integer",
        "n: inf is not an integer",
        "n: nan is not an integer",
    ]
    kept, rejected = validate(pl.DataFrame({"n": [0.0, 1.0, 2.5, float("inf")]}), schema)
    assert kept["n"].to_list() == [0, 1] and rejected.height == 2
    _, rejected = validate(pl.DataFrame({"n": [True, False]}), schema)
    assert rejected.height == 2


def test_non_finite_and_out_of_bounds_numbers_are_rejected_with_a_reason() -> None:
    schema = Schema([Field("amount", "float", required=True, min=0, max=1e6)])
    values = ["12.5", "inf", "-inf", "Infinity", "1e308", "1e400", "nan", "-1"]
    kept, rejected = validate(pl.DataFrame({"amount": values}), schema)
    assert kept["amount"].to_list() == [12.5]
    assert dict(zip(rejected["row"].to_list(), rejected["reason"].to_list(), strict=True)) == {
        2: "amount: inf is not a finite number",
        3: "amount: -inf is not a finite number",
        4: "amount: Infinity is not a finite number",
        5: "amount: 1e308 above the maximum 1000000.0",
        6: "amount: 1e400 is not a finite number",
        7: "amount: NaN",
        8: "amount: -1 below the minimum 0",
    }
    typed = pl.DataFrame({"amount": [1.0, float("inf"), float("nan")]})
    assert validate(typed, schema)[1]["reason"].to_list() == ["amount: inf is not a finite number", "amount: NaN"]
    allowed = Schema([Field("amount", "float", allow_nan=True)])
    assert validate(typed, allowed)[0].height == 2  # NaN allowed, inf still not
    _, rejected = validate(pl.DataFrame({"amount": [True]}), schema)
    assert rejected["reason"].to_list() == ["amount: true is not a number"]


def test_blank_label_is_unlabelled_not_zero_and_counted() -> None:
    from seek.data.schema import SchemaStep
    from seek.data.steps import Pipeline

    schema = Schema([Field("id", "int", required=True), Field("y", "int", allowed=[0, 1])], label="y")
    frame = pl.DataFrame({"id": ["1", "2", "3", "4"], "y": ["1", "", "  ", "0.0"]})
    result = Pipeline([SchemaStep(schema)]).run(frame)
    assert result.kept["y"].to_list() == [1, None, None, 0]
    assert result.rejected.height == 0
    assert result.unlabelled == 2 and result.counts()["rows_unlabelled"] == 2
    with pytest.raises(ConfigError, match="label field 'y' must not be required"):
        Schema([Field("y", "int", required=True)], label="y")
    with pytest.raises(ConfigError, match="label 'z' is not one of its fields"):
        Schema([Field("y", "int")], label="z")


def test_unique_ids_are_judged_among_valid_rows_after_normalisation() -> None:
    schema = Schema([Field("id", "str", required=True, unique=True), Field("amount", "float", required=True, min=0)])
    frame = pl.DataFrame({"id": ["3", "3", " 3", "4", "4"], "amount": ["-1", "2", "5", "abc", "1"]})
    kept, rejected = validate(frame, schema)
    assert kept.select("id", "amount").rows() == [("3", 2.0), ("4", 1.0)]
    assert dict(zip(rejected["row"].to_list(), rejected["reason"].to_list(), strict=True)) == {
        1: "amount: -1 below the minimum 0",
        3: "id:  3 repeats row 2",
        4: "amount: abc is not a number",
    }
    numeric = Schema([Field("id", "int", required=True, unique=True)])
    kept, rejected = validate(pl.DataFrame({"id": ["3", " 3", "3.0", "x", "4"]}), numeric)
    assert kept["id"].to_list() == [3, 4]
    assert rejected["reason"].to_list() == ["id:  3 repeats row 1", "id: 3.0 repeats row 1", "id: x is not an integer"]


def test_mapping_keeps_a_read_result_whole(tmp_path) -> None:
    from seek.data.frames import read_table

    path = tmp_path / "m.csv"
    path.write_text("TX,AMT\n1,2\n2,3,4\n3,x\n")
    table = apply_mapping(read_table(path, as_text=True), {"tx_id": "TX", "amount": "AMT"}, source=str(path))
    kept, rejected = validate(table, Schema([Field("tx_id", "int"), Field("amount", "float")]))
    assert kept["tx_id"].to_list() == [1]
    assert rejected.select("row", "step").rows() == [(3, "read"), (4, "schema")]
