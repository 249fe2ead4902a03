"""CSV reading: damaged records as rejected rows on the line-level path, the fast path, files that are not CSV."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from seek.data.frames import read_frame, read_table
from seek.errors import DataError


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_damaged_records_become_rejected_rows_with_line_reason_and_raw(tmp_path: Path) -> None:
    body = (
        b"id,name,amount\n"
        b"1,ann,10\n"
        b'2,"bob,20\n'  # stray opening quote: only this line is lost
        b"3,cy,30\n"
        b"4,dee\n"  # too few fields
        b"5,eve,50,extra\n"  # too many
        b'6,"fe"x,60\n'  # text after a closing quote
        b"7,g\xe9,70\n"  # not UTF-8
        b'8,"multi\nline",80\n'  # a legit quoted newline: one record on lines 9-10
        b"\n"
        b"9,ok,90\n"
    )
    table = read_table(write(tmp_path, "d.csv", body), as_text=True)
    assert table.frame["id"].to_list() == ["1", "3", "8", "9"]
    assert table.rows.to_list() == [2, 4, 9, 12]
    reasons = dict(zip(table.rejected["row"].to_list(), table.rejected["reason"].to_list(), strict=True))
    assert reasons == {
        3: "stray quote: the quoted field it opens does not end a record",
        5: "column 'amount' is missing (2 fields, the header has 3)",
        6: "extra field after column 'amount' (4 fields, the header has 3)",
        7: "malformed quoting (',' expected after '\"')",
        8: "column 'name': not valid UTF-8 (byte 0xe9 at byte 4 of the line); re-save the file as UTF-8",
    }
    assert table.rejected.filter(pl.col("row") == 8)["raw"].item() == "7,g\\xe9,70"
    assert table.rejected.filter(pl.col("row") == 3)["raw"].item() == '2,"bob,20'
    assert table.rows_in == 9


def test_typed_read_of_a_damaged_file_infers_types_like_a_clean_one(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "d.csv", "a,b\n1,2.5\n2\n3,4.5\n"))
    assert table.frame.schema == {"a": pl.Int64, "b": pl.Float64}
    assert table.frame.rows() == [(1, 2.5), (3, 4.5)] and table.rows.to_list() == [2, 4]


def test_huge_fields_load_on_both_paths(tmp_path: Path) -> None:
    huge = "x" * 2_000_000
    clean = read_table(write(tmp_path, "h.csv", f"a,b\n1,{huge}\n2,y\n"), as_text=True)
    assert clean.frame["b"].str.len_chars().to_list() == [2_000_000, 1]
    damaged = read_table(write(tmp_path, "hd.csv", f'a,b\n1,"{huge}"\n2\n3,y\n'), as_text=True)
    assert damaged.frame["b"].str.len_chars().to_list() == [2_000_000, 1] and damaged.rejected.height == 1


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"PAR1\x15\x04\x15\x00" + bytes(64), "is a parquet file, not CSV text"),
        (b"PK\x03\x04" + bytes(64), "is a zip archive, not CSV text"),
        (b"\x1f\x8b\x08\x00" + bytes(16), "is gzip-compressed"),
        (b"\x00\x01\x02binary\x00", "is a binary file"),
        (b"\xff\xfea\x00,\x00b\x00", "is UTF-16 text"),
        (b"", "empty file"),
        (b"\n1,2\n", "line 1 \\(the header\\) is blank"),
    ],
)
def test_a_file_that_is_not_csv_is_named_as_such_in_one_line(tmp_path: Path, data: bytes, what: str) -> None:
    with pytest.raises(DataError, match=rf"x\.csv: {what}"):
        read_frame(write(tmp_path, "x.csv", data))


def test_blank_lines_are_not_records_and_rows_are_line_numbers(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "b.csv", 'a,b\n1,x\n\n2,"y\nz"\r\n3,w\n'), as_text=True)
    assert table.frame["a"].to_list() == ["1", "2", "3"] and table.rows.to_list() == [2, 4, 6]


def test_a_bare_carriage_return_in_the_header_of_a_damaged_file_is_one_line(tmp_path: Path) -> None:
    # Found by tests/corpus/test_fuzz.py: the fast path's header parse raised csv.Error (a traceback).
    with pytest.raises(DataError, match=r"x\.csv: line 1 \(the header\): a bare carriage return"):
        read_table(write(tmp_path, "x.csv", b"a\rb,c\n1,2\n1,2,3\n"), as_text=True)
