"""DataSpec: the data an App declares, checked before a run folder exists."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from seek.data.schema import Field, Schema
from seek.data.spec import DataInput, DataSpec, load_table
from seek.errors import ConfigError

SPEC = DataSpec(
    schema=Schema([Field("id", "int", required=True), Field("amount", "float", required=True, min=0)]),
    mapping={"amount": "AMOUNT"},
    key=("id",),
)


def test_an_unknown_field_in_map_is_refused_naming_the_fields():
    with pytest.raises(ConfigError, match=r"--map amout=X: shop has no field 'amout' \(fields: id, amount\)"):
        SPEC.resolve_mapping({"amout": "X"}, app="shop")


def test_the_users_map_overrides_the_default_mapping():
    assert SPEC.resolve_mapping({"id": "TX_ID"}) == {"amount": "AMOUNT", "id": "TX_ID"}


def test_input_kinds_are_checked(tmp_path: Path):
    folder = tmp_path / "study"
    folder.mkdir()
    archive = tmp_path / "study.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.txt", "x")
    with pytest.raises(ConfigError, match="is a folder; app reads a file"):
        SPEC.open(folder)
    with pytest.raises(ConfigError, match="not found"):
        SPEC.open(tmp_path / "missing.csv")
    folder_spec = DataSpec(inputs=frozenset({"folder", "zip"}))
    assert folder_spec.open(folder).kind == "folder"
    assert folder_spec.open(archive).kind == "zip"


def test_data_input_round_trips_through_run_json(tmp_path: Path):
    path = tmp_path / "tx.csv"
    path.write_text("id,AMOUNT\n1,2.5\n")
    given = SPEC.open(path, {"id": "id"})
    record = given.to_json()
    assert len(record["sha256"]) == 64
    assert DataInput.from_json(record) == given


def test_load_table_validates_maps_and_keeps_rejected_rows(tmp_path: Path):
    path = tmp_path / "tx.csv"
    path.write_text("id,AMOUNT\n1,2.5\n2,-1\n1,3.0\n3,4\n")
    table = load_table(SPEC.open(path), SPEC)
    assert table.rows_in == 4
    assert table.frame["id"].to_list() == [1, 3]
    assert table.frame.height + table.rejected.height == table.rows_in
    reasons = " | ".join(table.rejected["reason"].to_list())
    assert "amount" in reasons and "duplicate" in reasons.lower()


def test_a_required_label_rejects_blanks_and_an_optional_one_keeps_them_unlabelled(tmp_path: Path):
    path = tmp_path / "tx.csv"
    path.write_text("id,AMOUNT,label\n1,2.5,1\n2,3,\n")
    fields = [Field("id", "int", required=True), Field("amount", "float", required=True)]
    required = DataSpec(schema=Schema([*fields, Field("label", "int", required=True)]), label="label")
    optional = DataSpec(schema=Schema([*fields, Field("label", "int")]), label="label")
    mapping = {"amount": "AMOUNT"}
    assert load_table(required.open(path, mapping), required).rejected.height == 1
    kept = load_table(optional.open(path, mapping), optional).frame
    assert kept["label"].to_list() == [1, None]
