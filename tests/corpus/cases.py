"""The hostile-input corpus: malformed, truncated, hostile and unusual inputs for every reader, generated.

Each :class:`Case` writes its input into a folder (nothing binary is committed: generation says what
the bytes are). ``outcome`` is what Seek promises for it:

- ``"error"``: a non-zero exit with exactly one line on stderr, naming the file (and ``names``, a
  regex for the row, field or what is wrong), and no traceback;
- ``"accept"``: the input loads; ``why`` documents the acceptance, and every input record is
  accounted for: kept + rejected = ``rows`` (``kept`` pins the kept count where it matters).

Table cases (CSV, parquet, JSON lines) are read with the corpus app's schema (:data:`SCHEMA`):
``tx_id`` int, unique; ``ts`` datetime; ``card`` str; ``amount`` float in [0, 1e6]; ``label`` int in
{0, 1}, the label (blank = unlabelled).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HEADER = "tx_id,ts,card,amount,label\n"


def good_rows(n: int, start: int = 1) -> str:
    """``n`` valid CSV rows."""
    return "".join(
        f"{i},2024-03-01 10:{i % 60:02d}:00,c{i % 7},{i * 1.5:.2f},{i % 2}\n" for i in range(start, start + n)
    )


@dataclass(frozen=True)
class Case:
    """One corpus input and what Seek promises for it."""

    id: str
    reader: str  # csv | parquet | jsonl | config | run
    make: Callable[[Path], Path]
    outcome: str  # error | accept
    why: str
    rows: int | None = None
    kept: int | None = None
    names: str = ""
    unlabelled: int | None = None


def _write(name: str, data: bytes | str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    return make


def _frame_file(name: str, build: Callable[[], object], how: str = "parquet") -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        frame = build()
        if how == "parquet":
            frame.write_parquet(path)  # type: ignore[attr-defined]
        return path

    return make


def _parquet_bytes() -> bytes:
    import polars as pl

    buffer = io.BytesIO()
    pl.DataFrame({"tx_id": [1, 2, 3], "ts": ["2024-03-01 10:00:00"] * 3, "card": ["a", "b", "c"]}).write_parquet(buffer)
    return buffer.getvalue()


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("tx.csv", HEADER + good_rows(3))
    return buffer.getvalue()


def _typed_frame() -> object:
    import datetime as dt

    import polars as pl

    return pl.DataFrame(
        {
            "tx_id": [1, 2, 3, 4, 5],
            "ts": [1709280000, 1709280000000, 1709280000, 1709280000, 1709280000],  # epoch s and ms
            "card": ["a", "b", "c", "d", "e"],
            "amount": [1.0, float("inf"), float("nan"), 2.0, 1e308],
            "label": [1.0, 0.0, 1.0, None, 0.0],
        }
    ).with_columns(pl.lit(dt.datetime(2024, 1, 1)).alias("seen"))


def _aware_frame() -> object:
    import datetime as dt

    import polars as pl

    stamps = pl.Series([dt.datetime(2024, 3, 1, 10)] * 3).dt.replace_time_zone("Europe/Paris").dt.cast_time_unit("ns")
    return pl.DataFrame({"tx_id": [1, 2, 3], "ts": stamps, "card": ["a", "b", "c"], "amount": [1.0, 2.0, 3.0]})


def _empty_frame() -> object:
    import polars as pl

    return pl.DataFrame(schema={"tx_id": pl.Int64, "ts": pl.String, "card": pl.String, "amount": pl.Float64})


def _no_amount_frame() -> object:
    import polars as pl

    return pl.DataFrame({"tx_id": [1], "ts": ["2024-03-01 10:00:00"], "card": ["a"]})


def _truncated_parquet(folder: Path) -> Path:
    data = _parquet_bytes()
    path = folder / "cut.parquet"
    path.write_bytes(data[: len(data) // 2])
    return path


def _jsonl(*records: object) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def _jrow(i: int, **extra: object) -> dict[str, object]:
    return {"tx_id": i, "ts": "2024-03-01 10:00:00", "card": f"c{i}", "amount": 1.5 * i, "label": i % 2, **extra}


MIXED_TIMES = HEADER + (
    "1,2024-03-01T10:00:00+02:00,c1,1,0\n2,2024-03-01 08:00:00,c1,1,1\n3,2024-03-01T08:00:00Z,c2,1,0\n"
    "4,2024-03-01T03:00:00-0500,c2,1,1\n5,1709280000,c3,1,0\n6,2024-03-01T08:00:00.250+00:00,c3,1,1\n"
)

CSV_CASES = [
    Case("clean", "csv", _write("tx.csv", HEADER + good_rows(5)), "accept", "a clean file loads whole", 5, 5),
    Case(
        "header_only",
        "csv",
        _write("tx.csv", HEADER),
        "accept",
        "`seek data clean` writes empty outputs; an app's run stops on require_rows",
        0,
        0,
    ),
    Case(
        "integral_float_labels",
        "csv",
        _write("tx.csv", HEADER + "".join(f"{i},2024-03-01 10:00:00,c1,2.5,{i % 2}.0\n" for i in range(1, 9))),
        "accept",
        "0.0 and 1.0 are the integers 0 and 1",
        8,
        8,
    ),
    Case(
        "all_rejected",
        "csv",
        _write("tx.csv", HEADER + "".join(f"{i},2024-03-01 10:00:00,c1,2.5,yes\n" for i in range(1, 6))),
        "accept",
        "`seek data clean` keeps every row in rejected.parquet with its reason",
        5,
        0,
    ),
    Case("mixed_time_zones", "csv", _write("tx.csv", MIXED_TIMES), "accept", "offsets, Z, naive, epoch: UTC", 6, 6),
    Case(
        "non_finite_amounts",
        "csv",
        _write("tx.csv", HEADER + good_rows(3) + "4,2024-03-01 10:00:00,c1,inf,0\n5,2024-03-01 10:00:00,c1,1e308,1\n"),
        "accept",
        "inf and beyond-max amounts are rejected rows",
        5,
        3,
    ),
    Case(
        "blank_labels",
        "csv",
        _write("tx.csv", HEADER + good_rows(3) + "4,2024-03-01 10:00:00,c1,1,\n5,2024-03-01 10:00:00,c1,1,  \n"),
        "accept",
        "a blank label is unlabelled: kept as null and counted",
        5,
        5,
        unlabelled=2,
    ),
    Case(
        "invalid_first_duplicate",
        "csv",
        _write(
            "tx.csv", HEADER + "1,2024-03-01 10:00:00,c1,-5,0\n1,2024-03-01 10:00:00,c1,5,0\n 1 ,2024-03-01,c1,5,0\n"
        ),
        "accept",
        "repeats are judged among valid rows after normalisation: the valid second row is kept",
        3,
        1,
    ),
    Case(
        "stray_opening_quote",
        "csv",
        _write("tx.csv", HEADER + good_rows(2) + '3,"2024-03-01 10:00:00,c1,1,0\n' + good_rows(3, 4)),
        "accept",
        "the line with the stray quote is a rejected row; the rest load",
        6,
        5,
    ),
    Case(
        "mid_field_quote",
        "csv",
        _write("tx.csv", HEADER + good_rows(2) + '3,2024-03-01 10:00:00,c"1,1,0\n' + good_rows(2, 4)),
        "accept",
        "a quote inside an unquoted field is a literal character",
        5,
        5,
    ),
    Case(
        "text_after_closing_quote",
        "csv",
        _write("tx.csv", HEADER + good_rows(2) + '3,2024-03-01 10:00:00,"c1"x,1,0\n' + good_rows(2, 4)),
        "accept",
        "malformed quoting is a rejected row",
        5,
        4,
    ),
    Case(
        "ragged_short",
        "csv",
        _write("tx.csv", HEADER + good_rows(2) + "3,2024-03-01 10:00:00,c1\n" + good_rows(2, 4)),
        "accept",
        "too few fields: a rejected row naming the missing column",
        5,
        4,
    ),
    Case(
        "ragged_long",
        "csv",
        _write("tx.csv", HEADER + good_rows(2) + "3,2024-03-01 10:00:00,c1,1,0,extra,more\n" + good_rows(2, 4)),
        "accept",
        "too many fields: a rejected row",
        5,
        4,
    ),
    Case(
        "huge_field",
        "csv",
        _write("tx.csv", HEADER + good_rows(2) + f'3,2024-03-01 10:00:00,"{"x" * 3_000_000}",1,0\n' + good_rows(1, 4)),
        "accept",
        "a 3 MB field loads",
        4,
        4,
    ),
    Case(
        "huge_field_in_damaged_file",
        "csv",
        _write("tx.csv", HEADER + f'1,2024-03-01 10:00:00,"{"y" * 500_000}",1,0\n2,x\n' + good_rows(2, 3)),
        "accept",
        "the line-level path lifts the csv module's field size limit",
        4,
        3,
    ),
    Case(
        "latin1_byte",
        "csv",
        _write(
            "tx.csv",
            (HEADER + good_rows(2)).encode() + b"3,2024-03-01 10:00:00,caf\xe9,1,0\n" + good_rows(2, 4).encode(),
        ),
        "accept",
        "a line that is not UTF-8 is a rejected row naming the column",
        5,
        4,
    ),
    Case(
        "crlf_and_bom",
        "csv",
        _write("tx.csv", b"\xef\xbb\xbf" + (HEADER + good_rows(4)).replace("\n", "\r\n").encode()),
        "accept",
        "Windows line ends and a UTF-8 BOM load",
        4,
        4,
    ),
    Case(
        "blank_lines",
        "csv",
        _write("tx.csv", HEADER + "\n" + good_rows(2) + "\n\n" + good_rows(2, 3) + "\n"),
        "accept",
        "blank lines are not records",
        4,
        4,
    ),
    Case(
        "quoted_newline",
        "csv",
        _write("tx.csv", HEADER + '1,2024-03-01 10:00:00,"two\nlines",1,0\n' + good_rows(2, 2)),
        "accept",
        "a quoted newline is part of its field",
        3,
        3,
    ),
    Case(
        "truncated_in_quote",
        "csv",
        _write("tx.csv", HEADER + good_rows(3) + '4,2024-03-01 10:00:00,"c'),
        "accept",
        "a file cut inside a quoted field loses only its last record",
        4,
        3,
    ),
    Case(
        "truncated_mid_line",
        "csv",
        _write("tx.csv", HEADER + good_rows(3) + "4,2024-03-0"),
        "accept",
        "a file cut mid-line: the last record is ragged",
        4,
        3,
    ),
    Case(
        "formula_injection",
        "csv",
        _write("tx.csv", HEADER + good_rows(2) + "3,2024-03-01 10:00:00,\"=cmd|' /C calc'!A0\",1,0\n"),
        "accept",
        "values are data, never evaluated",
        3,
        3,
    ),
    Case(
        "thousands_separator",
        "csv",
        _write("tx.csv", HEADER + good_rows(2) + '3,2024-03-01 10:00:00,c1,"1,234.50",0\n'),
        "accept",
        "1,234.50 is not a number: a rejected row",
        3,
        2,
    ),
    Case(
        "duplicate_header",
        "csv",
        _write("tx.csv", "tx_id,ts,card,amount,label,card\n" + "".join(f"{i},2024-03-01,c,1,0,d\n" for i in range(3))),
        "accept",
        "a repeated header name is renamed card_duplicated_0, as polars does",
        3,
        3,
    ),
    Case("parquet_renamed", "csv", _write("tx.csv", _parquet_bytes()), "error", "", names="is a parquet file"),
    Case("zip_renamed", "csv", _write("tx.csv", _zip_bytes()), "error", "", names="is a zip archive"),
    Case("binary", "csv", _write("tx.csv", bytes(range(256)) * 4), "error", "", names="binary file"),
    Case("empty", "csv", _write("tx.csv", b""), "error", "", names="empty file"),
    Case("utf16", "csv", _write("tx.csv", (HEADER + good_rows(2)).encode("utf-16")), "error", "", names="UTF-16"),
    Case(
        "blank_header", "csv", _write("tx.csv", "\n" + good_rows(2)), "error", "", names="line 1 .the header. is blank"
    ),
    Case(
        "missing_required_column",
        "csv",
        _write("tx.csv", "tx_id,ts,card\n1,2024-03-01,c\n"),
        "error",
        "",
        names="required column 'amount' is missing",
    ),
    Case(
        "semicolon_delimited",
        "csv",
        _write("tx.csv", HEADER.replace(",", ";") + good_rows(2).replace(",", ";")),
        "error",
        "",
        names="required column 'tx_id' is missing",
    ),
]

PARQUET_CASES = [
    Case(
        "typed_values", "parquet", _frame_file("tx.parquet", _typed_frame), "accept", "inf, NaN, 1e308 rejected", 5, 2
    ),
    Case("aware_ns_times", "parquet", _frame_file("tx.parquet", _aware_frame), "accept", "tz-aware ns -> UTC us", 3, 3),
    Case("zero_rows", "parquet", _frame_file("tx.parquet", _empty_frame), "accept", "an empty table is 0 rows", 0, 0),
    Case("truncated", "parquet", _truncated_parquet, "error", "", names="not a readable parquet file"),
    Case("csv_renamed", "parquet", _write("tx.parquet", HEADER + good_rows(2)), "error", "", names="the file is text"),
    Case("empty", "parquet", _write("tx.parquet", b""), "error", "", names="the file is empty"),
    Case(
        "magic_only", "parquet", _write("tx.parquet", b"PAR1" + os.urandom(64) + b"PAR1"), "error", "", names="parquet"
    ),
    Case(
        "missing_required_column",
        "parquet",
        _frame_file("tx.parquet", _no_amount_frame),
        "error",
        "",
        names="required column 'amount' is missing",
    ),
]

JSONL_CASES = [
    Case("clean", "jsonl", _write("tx.jsonl", _jsonl(*(_jrow(i) for i in range(1, 5)))), "accept", "loads whole", 4, 4),
    Case(
        "invalid_line",
        "jsonl",
        _write("tx.jsonl", _jsonl(_jrow(1), '{"tx_id": 2, "ts": ', _jrow(3))),
        "accept",
        "an invalid JSON line is a rejected record",
        3,
        2,
    ),
    Case(
        "not_an_object",
        "jsonl",
        _write("tx.jsonl", _jsonl(_jrow(1), "[1, 2, 3]", '"text"', _jrow(2))),
        "accept",
        "a line that is not an object is a rejected record",
        4,
        2,
    ),
    Case(
        "type_conflict",
        "jsonl",
        _write("tx.jsonl", _jsonl(_jrow(1), _jrow(2, amount={"v": 1}), _jrow(3))),
        "accept",
        "a field whose JSON type differs from the first record's is a rejected record",
        3,
        2,
    ),
    Case(
        "truncated_last_line",
        "jsonl",
        _write("tx.jsonl", _jsonl(_jrow(1), _jrow(2)) + '{"tx_id": 3, "ts": "2024'),
        "accept",
        "a cut last line is a rejected record",
        3,
        2,
    ),
    Case(
        "bad_utf8_and_blank_lines",
        "jsonl",
        _write("tx.jsonl", _jsonl(_jrow(1)).encode() + b"\n\n" + b'{"card": "\xff"}\n' + _jsonl(_jrow(2)).encode()),
        "accept",
        "a line that is not UTF-8 is a rejected record; blank lines are not records",
        3,
        2,
    ),
    Case(
        "values_to_judge",
        "jsonl",
        _write("tx.jsonl", _jsonl(_jrow(1, amount=-1), _jrow(2, label=None), _jrow(3, ts="2024-03-01T10:00:00+02:00"))),
        "accept",
        "schema checks apply to JSON values too; a null label is unlabelled",
        3,
        2,
        unlabelled=1,
    ),
    Case("parquet_renamed", "jsonl", _write("tx.jsonl", _parquet_bytes()), "error", "", names="is a parquet file"),
    Case("empty", "jsonl", _write("tx.jsonl", b"\n \n"), "error", "", names="empty file"),
    Case(
        "missing_required_column",
        "jsonl",
        _write("tx.jsonl", _jsonl({"tx_id": 1, "ts": "2024-03-01", "card": "a"})),
        "error",
        "",
        names="required column 'amount' is missing",
    ),
]

TABLE_CASES = CSV_CASES + PARQUET_CASES + JSONL_CASES


# -- config files ------------------------------------------------------------------------------------


def _yaml_bomb() -> str:
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 5)]
    return "\n".join([*lines, "lr: *a4", ""])


CONFIG_CASES = [
    Case("toml_syntax", "config", _write("c.toml", "lr = 0.1\nepochs = \n"), "error", "", names="line 2"),
    Case("yaml_syntax", "config", _write("c.yaml", "lr: 0.1\nmodel: [1, 2\nepochs: 3\n"), "error", "", names="line 3"),
    Case("json_syntax", "config", _write("c.json", '{"lr": 0.1,\n "epochs": }\n'), "error", "", names="line 2"),
    Case("unknown_key", "config", _write("c.toml", "lr = 0.1\nlearning_rat = 2\n"), "error", "", names="learning_rat"),
    Case("wrong_type", "config", _write("c.json", '{"epochs": "many"}'), "error", "", names="'epochs'"),
    Case("nested_unknown", "config", _write("c.toml", "[model]\nwidht = 3\n"), "error", "", names="model.widht"),
    Case("out_of_range", "config", _write("c.yaml", "epochs: -3\n"), "error", "", names="'epochs'"),
    Case("yaml_list_top", "config", _write("c.yaml", "- 1\n- 2\n"), "error", "", names="top level must be a table"),
    Case("not_utf8", "config", _write("c.toml", b'lr = 0.1\nname = "\xff"\n'), "error", "", names="cannot read"),
    Case("unknown_suffix", "config", _write("c.ini", "[x]\n"), "error", "", names="unsupported config format"),
    Case(
        "yaml_python_tag",
        "config",
        _write("c.yaml", "lr: !!python/object/apply:os.system ['echo pwned']\n"),
        "error",
        "",
        names="invalid YAML syntax",
    ),
    Case("yaml_alias_bomb", "config", _write("c.yaml", _yaml_bomb()), "error", "", names="config key 'lr'"),
    Case("toml_duplicate_key", "config", _write("c.toml", "lr = 0.1\nlr = 0.2\n"), "error", "", names="line 2"),
    Case("nan_in_json", "config", _write("c.json", '{"lr": NaN}'), "error", "", names="'lr'"),
    Case("empty_file", "config", _write("c.yaml", ""), "accept", "an empty file means all defaults", None),
]


# -- run folders -------------------------------------------------------------------------------------


def _sealed(folder: Path) -> Path:
    from seek.runs import RunFolder

    run = RunFolder(folder / "run")
    run.write_json("metrics.json", {"auc": 0.9})
    run.write_bytes("model/weights.safetensors", b"\x00" * 64)
    run.seal()
    return run.path


def _tampered(change: Callable[[Path], object]) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = _sealed(folder)
        change(path)
        return path

    return make


def _edit_manifest(edit: Callable[[dict], object]) -> Callable[[Path], object]:
    def change(path: Path) -> None:
        manifest = json.loads((path / "manifest.json").read_text())
        edit(manifest)
        (path / "manifest.json").write_text(json.dumps(manifest))

    return change


def _outside(folder: Path) -> Path:
    target = folder.parent / "outside.bin"
    target.write_bytes(b"\x00" * 64)
    return target


def _swap_for_link(path: Path) -> None:
    weights = path / "model/weights.safetensors"
    weights.unlink()
    weights.symlink_to(_outside(path))


def _swap_folder_for_link(path: Path) -> None:
    (path / "model/weights.safetensors").unlink()
    (path / "model").rmdir()
    outside = path.parent / "outside_model"
    outside.mkdir()
    (outside / "weights.safetensors").write_bytes(b"\x00" * 64)
    (path / "model").symlink_to(outside)


RUN_CASES = [
    Case("sealed", "run", _tampered(lambda p: None), "accept", "an untouched run folder opens", None),
    Case(
        "one_byte_changed",
        "run",
        _tampered(lambda p: (p / "model/weights.safetensors").write_bytes(b"\x01" + b"\x00" * 63)),
        "error",
        "",
        names="weights.safetensors: sha256 does not match",
    ),
    Case(
        "file_deleted",
        "run",
        _tampered(lambda p: (p / "metrics.json").unlink()),
        "error",
        "",
        names="metrics.json: listed in manifest.json but missing",
    ),
    Case(
        "symlinked_artifact", "run", _tampered(_swap_for_link), "error", "", names="weights.safetensors: is a symlink"
    ),
    Case("symlinked_folder", "run", _tampered(_swap_folder_for_link), "error", "", names="model: is a symlink"),
    Case(
        "extra_link_to_passwd",
        "run",
        _tampered(lambda p: (p / "passwd").symlink_to("/etc/passwd")),
        "error",
        "",
        names="passwd: is a symlink",
    ),
    Case(
        "entry_escaping_up",
        "run",
        _tampered(
            _edit_manifest(lambda m: m["files"].update({"../../../../etc/hostname": {"sha256": "0", "size": 1}}))
        ),
        "error",
        "",
        names="etc/hostname.*escapes the run folder",
    ),
    Case(
        "entry_absolute",
        "run",
        _tampered(_edit_manifest(lambda m: m["files"].update({"/etc/hostname": {"sha256": "0", "size": 1}}))),
        "error",
        "",
        names="'/etc/hostname': path escapes the run folder",
    ),
    Case(
        "truncated_manifest",
        "run",
        _tampered(lambda p: (p / "manifest.json").write_text((p / "manifest.json").read_text()[:40])),
        "error",
        "",
        names="manifest.json: unreadable manifest",
    ),
    Case(
        "manifest_not_a_table",
        "run",
        _tampered(lambda p: (p / "manifest.json").write_text("[1, 2]")),
        "error",
        "",
        names="manifest.json: unreadable manifest",
    ),
    Case(
        "entry_size_as_text",
        "run",
        _tampered(_edit_manifest(lambda m: m["files"]["metrics.json"].update(size="12"))),
        "error",
        "",
        names="entry 'metrics.json' needs a sha256 string and a size integer",
    ),
    Case(
        "entry_is_a_folder",
        "run",
        _tampered(_edit_manifest(lambda m: m["files"].update({"model": {"sha256": "0", "size": 1}}))),
        "error",
        "",
        names="model: listed in manifest.json but missing",
    ),
    Case(
        "no_manifest",
        "run",
        _tampered(lambda p: (p / "manifest.json").unlink()),
        "error",
        "",
        names="not a finished run folder",
    ),
]

ALL_CASES = TABLE_CASES + CONFIG_CASES + RUN_CASES
