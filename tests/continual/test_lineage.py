"""The training schema an update must match, and lineage.json of an updated run."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from seek.continual.lineage import check_schema, read_lineage, training_schema, write_lineage
from seek.data.spec import DataInput
from seek.errors import DataError, RunError
from seek.runs import RunFolder, load_run


def _frame() -> pl.DataFrame:
    return pl.DataFrame(
        {"id": ["a", "b"], "when": [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2)], "km": [1.5, 2.0]}
    )


def test_training_schema_records_dtype_classes() -> None:
    assert training_schema(_frame()) == {"id": "text", "when": "datetime", "km": "number"}


def test_matching_parquet_and_csv_pass(tmp_path) -> None:
    expected = training_schema(_frame())
    _frame().write_parquet(tmp_path / "new.parquet")
    _frame().write_csv(tmp_path / "new.csv")
    check_schema(expected, DataInput(tmp_path / "new.parquet"), "parent")
    check_schema(expected, DataInput(tmp_path / "new.csv"), "parent")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop("km"), "field 'km' is missing"),
        (lambda f: f.with_columns(pl.lit(1).alias("extra")), "field 'extra' was not in the training data"),
        (lambda f: f.with_columns(pl.col("km").cast(pl.String)), "field 'km' is text here but number"),
    ],
)
def test_an_update_refuses_a_mismatched_schema_in_one_line(tmp_path, change, message) -> None:
    path = tmp_path / "new.parquet"
    change(_frame()).write_parquet(path)
    with pytest.raises(DataError, match=message) as info:
        check_schema(training_schema(_frame()), DataInput(path), "runs/parent")
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_the_mapping_is_applied_before_comparing(tmp_path) -> None:
    path = tmp_path / "new.csv"
    _frame().rename({"km": "DIST"}).write_csv(path)
    with pytest.raises(DataError, match="'km' is missing"):
        check_schema(training_schema(_frame()), DataInput(path), "parent")
    check_schema(training_schema(_frame()), DataInput(path, mapping={"km": "DIST"}), "parent")


def test_lineage_names_parent_hash_data_hash_and_ancestors(tmp_path) -> None:
    parent_folder = RunFolder(tmp_path / "parent")
    parent_folder.write_json("run.json", {"app": "x"})
    parent_folder.seal()
    parent = load_run(parent_folder.path)
    data = tmp_path / "q2.csv"
    _frame().write_csv(data)
    child = RunFolder(tmp_path / "child")
    files = {"state-online-ewc": "continual/s.safetensors"}
    record = write_lineage(child, parent, DataInput(data), "online-ewc", files)
    assert record["generation"] == 1 and record["ancestors"] == []
    assert len(record["parent"]["manifest_sha256"]) == 64 and len(record["data"]["sha256"]) == 64
    child.seal()
    grandchild = RunFolder(tmp_path / "grandchild")
    second = write_lineage(grandchild, load_run(child.path), DataInput(data), "online-ewc", {})
    assert second["generation"] == 2 and second["ancestors"][0]["run"].endswith("parent")
    assert read_lineage(grandchild.path) == json.loads((grandchild.path / "lineage.json").read_text())
    with pytest.raises(RunError, match="no lineage.json"):
        read_lineage(parent_folder.path)
