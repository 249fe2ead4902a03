"""``seek data check`` / ``seek data clean``: outputs, exit codes and one-line errors for malformed files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

import seek
from seek.cli.data import command
from seek.data.schema import Field, Rule, Schema
from seek.data.spec import DataSpec


def invoke(*args: str):
    return CliRunner().invoke(command, list(args))


def write(tmp_path: Path, name: str, data: bytes | str) -> str:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(path)


@pytest.mark.parametrize(
    ("name", "content", "line", "reason"),
    [
        ("ragged.csv", "a,b,c\n1,2,3\n4,5\n", 3, "column 'c' is missing"),
        ("latin1.csv", b"a,b\n1,ok\n2,caf\xe9\n", 3, "column 'b': not valid UTF-8"),
        ("broken.jsonl", '{"a": 1}\n{"a"\n', 2, "invalid JSON at column"),
    ],
)
def test_damaged_records_are_rejected_rows_with_their_line_and_the_rest_loads(
    tmp_path: Path, name: str, content, line: int, reason: str
) -> None:
    path = write(tmp_path, name, content)
    out = tmp_path / "out"
    result = invoke("clean", path, "--out", str(out))
    assert result.exit_code == 0, result.output
    rejected = pl.read_parquet(out / "rejected.parquet")
    assert rejected["row"].to_list() == [line] and reason in rejected["reason"].item()
    assert pl.read_parquet(out / "cleaned.parquet").height == 1
    check = invoke("check", path, "--out", str(tmp_path / "q"))
    validity = json.loads((tmp_path / "q" / "quality.json").read_text())["dimensions"]["validity"]
    assert validity["score"] == 0.5 and validity["details"]["unreadable_records"] == 1
    assert check.exit_code == 1  # validity 0.5 is below the default threshold


def test_a_value_that_breaks_an_inferred_column_is_one_line_naming_file_line_column(tmp_path: Path) -> None:
    path = write(tmp_path, "types.csv", "n\n" + "1\n" * 20000 + "x\n")
    for args in (["check", path], ["clean", path, "--out", str(tmp_path / "out")]):
        result = invoke(*args)
        assert result.exit_code == 1
        lines = [line for line in result.output.strip().splitlines() if not line.startswith("stage ")]
        assert lines == [
            f"error: {path}: line 20002, column 'n': value 'x' is not an integer like the rows above it; "
            "declare the column's type in a schema"
        ]


def test_missing_file_is_one_line_error(tmp_path: Path) -> None:
    result = invoke("check", str(tmp_path / "nope.csv"))
    assert result.exit_code == 1 and result.output.strip() == f"error: {tmp_path / 'nope.csv'}: file not found"


def test_check_exits_1_when_a_threshold_fails_and_0_when_relaxed(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", "id,v\n1,a\n1,a\n2,b\n")
    failed = invoke("check", path, "--out", str(tmp_path / "rep"))
    assert failed.exit_code == 1 and "threshold failed: uniqueness" in failed.output
    assert json.loads((tmp_path / "rep" / "quality.json").read_text())["passed"] is False
    assert invoke("check", path, "--threshold", "uniqueness=0.5").exit_code == 0
    bad = invoke("check", path, "--threshold", "speed=3")
    assert bad.exit_code == 2 and "NAME=VALUE" in bad.output


def test_clean_writes_cleaned_rejected_and_report_that_add_up(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "t.csv",
        "id,text\n1,<b>Fish &amp; chips tonight</b>\n2,Fish & chips tonight!\n"
        "3,<b>Fish &amp; chips tonight</b>\n3,ok\n4,货物已经到达港口\n",
    )
    out = tmp_path / "out"
    result = invoke("clean", path, "--out", str(out), "--text", "text", "--key", "id")
    assert result.exit_code == 0, result.output
    kept, rejected = pl.read_parquet(out / "cleaned.parquet"), pl.read_parquet(out / "rejected.parquet")
    assert kept["text"].to_list() == ["Fish & chips tonight", "货物已经到达港口"]
    # Rows are the file's line numbers (the header is line 1).
    assert rejected.select("row", "step").to_dicts() == [
        {"row": 3, "step": "near_duplicates:text"},
        {"row": 4, "step": "near_duplicates:text"},
        {"row": 5, "step": "exact_duplicates:id"},
    ]
    assert rejected.filter(pl.col("row") == 4)["text"].item() == "<b>Fish &amp; chips tonight</b>"
    counts = json.loads((out / "counts.json").read_text())
    assert counts["rows_in"] == 5 == kept.height + rejected.height
    assert {p.name for p in out.iterdir()} >= {"quality.json", "quality.md", "missingness.png"}


class ShipApp(seek.App):
    """A test app declaring its data schema, mapping and rules."""

    name = "ship-test"
    summary = "declares data"
    Config = seek.AppConfig

    def run(self, config, ctx):  # pragma: no cover - never run here
        raise NotImplementedError

    data = DataSpec(
        schema=Schema(
            [
                Field("id", "int", required=True),
                Field("weight", "float", required=True, min=0),
                Field("pickup", "datetime", required=True),
                Field("delivery", "datetime", required=True),
            ],
            rules=[Rule("delivery_after_pickup", pl.col("delivery") >= pl.col("pickup"), "delivery after pickup")],
        ),
        mapping={"weight": "WEIGHT_KG"},
    )


class ShipPlugin:
    @seek.hookimpl
    def seek_apps(self):
        return [ShipApp()]


def test_app_schema_rejects_bad_rows_with_reasons(tmp_path: Path, seek_plugins) -> None:
    seek_plugins.register(ShipPlugin(), name="ship")
    path = write(
        tmp_path,
        "s.csv",
        "id,WEIGHT_KG,pickup,delivery\n1,2.5,2024-01-01 00:00:00,2024-01-02 00:00:00\n"
        "2,-1,2024-01-01 00:00:00,2024-01-02 00:00:00\nx,1,2024-01-01 00:00:00,2024-01-02 00:00:00\n"
        "4,1,2024-01-05 00:00:00,2024-01-02 00:00:00\n",
    )
    out = tmp_path / "out"
    result = seek_plugins.invoke("data", "clean", path, "--out", str(out), "--app", "ship-test")
    assert result.exit_code == 0, result.output
    rejected = pl.read_parquet(out / "rejected.parquet")
    assert rejected["reason"].to_list() == ["weight: -1 below the minimum 0", "id: x is not an integer"]
    report = json.loads((out / "quality.json").read_text())
    assert report["dimensions"]["consistency"]["details"]["rows_breaking_a_rule"] == 1
    check = seek_plugins.invoke("data", "check", path, "--schema", "ship-test")
    assert check.exit_code == 1 and "threshold failed: validity" in check.output
    unknown = seek_plugins.invoke("data", "check", path, "--schema", "no-such-app")
    assert unknown.exit_code != 0 and "no-such-app" in unknown.output


class FreightTerms:
    @seek.hookimpl
    def seek_term_dictionaries(self):
        from seek.data.terms import Term, TermDictionary

        return [TermDictionary("logistics", [Term("bill of lading", ("B/L", "BOL"))])]


def test_hook_seek_term_dictionaries_normalise_text_in_clean(tmp_path: Path, seek_plugins) -> None:
    seek_plugins.register(FreightTerms(), name="freight-terms")
    path = write(tmp_path, "n.csv", "text\nsend the BOL to the port agent today\n")
    out = tmp_path / "out"
    result = seek_plugins.invoke("data", "clean", path, "--out", str(out), "--text", "text")
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out / "cleaned.parquet")["text"].item() == "send the bill of lading to the port agent today"
    assert "normalise_terms:text: 0 rejected, 1 changed" in result.output
    plain = seek_plugins.invoke("data", "clean", path, "--out", str(tmp_path / "o2"), "--text", "text", "--no-terms")
    assert plain.exit_code == 0 and pl.read_parquet(tmp_path / "o2" / "cleaned.parquet")["text"].item().startswith(
        "send the BOL"
    )


class LenientShipApp(ShipApp):
    name = "ship-lenient"
    data = dataclasses.replace(ShipApp.data, thresholds={"validity": 0.4, "consistency": 0.5})


class LenientPlugin:
    @seek.hookimpl
    def seek_apps(self):
        return [LenientShipApp()]


def test_app_thresholds_apply_and_command_line_overrides_win(tmp_path: Path, seek_plugins) -> None:
    seek_plugins.register(LenientPlugin(), name="lenient")
    path = write(
        tmp_path,
        "s.csv",
        "id,WEIGHT_KG,pickup,delivery\n1,2.5,2024-01-01 00:00:00,2024-01-02 00:00:00\n"
        "2,-1,2024-01-01 00:00:00,2024-01-02 00:00:00\n",
    )
    assert seek_plugins.invoke("data", "check", path, "--schema", "ship-lenient").exit_code == 0
    strict = seek_plugins.invoke("data", "check", path, "--schema", "ship-lenient", "--threshold", "validity=0.9")
    assert strict.exit_code == 1 and "threshold failed: validity 0.5000 < 0.9" in strict.output


class KeyedShipApp(ShipApp):
    name = "ship-keyed"
    data = dataclasses.replace(ShipApp.data, key=("id",))


class KeyedPlugin:
    @seek.hookimpl
    def seek_apps(self):
        return [KeyedShipApp()]


def test_check_names_each_bad_value_and_repeated_id_with_its_line_and_field(tmp_path: Path, seek_plugins) -> None:
    seek_plugins.register(KeyedPlugin(), name="keyed")
    path = write(
        tmp_path,
        "s.csv",
        "id,WEIGHT_KG,pickup,delivery\n1,2.5,2024-01-01 00:00:00,2024-01-02 00:00:00\n"
        "2,-1,2024-01-01 00:00:00,2024-01-02 00:00:00\n3,1,soon,2024-01-02 00:00:00\n"
        "1,4,2024-01-01 00:00:00,2024-01-02 00:00:00\n",
    )
    result = seek_plugins.invoke("data", "check", path, "--schema", "ship-keyed", "--out", str(tmp_path / "q"))
    assert result.exit_code == 1
    assert "validity: line 3: weight: -1 below the minimum 0" in result.output
    assert "validity: line 4: pickup: soon is not a timestamp" in result.output
    assert "uniqueness: line 5: id: repeats id='1'" in result.output
    report = json.loads((tmp_path / "q" / "quality.json").read_text())
    assert [r["row"] for r in report["dimensions"]["validity"]["details"]["rows"]] == [3, 4]
