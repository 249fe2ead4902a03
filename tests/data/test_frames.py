"""read_frame: CSV/parquet/JSONL reading and one-line errors naming file, row and column."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from seek.data.frames import read_frame
from seek.errors import DataError


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_reads_csv_parquet_and_jsonl_alike(tmp_path: Path) -> None:
    frame = pl.DataFrame({"id": [1, 2], "text": ["a", "b"]})
    frame.write_parquet(tmp_path / "f.parquet")
    write(tmp_path, "f.csv", "id,text\n1,a\n2,b\n")
    write(tmp_path, "f.jsonl", '{"id": 1, "text": "a"}\n{"id": 2, "text": "b"}\n')
    for name in ("f.csv", "f.parquet", "f.jsonl"):
        assert read_frame(tmp_path / name).to_dicts() == frame.to_dicts()


def test_quoted_separators_and_newlines_are_not_ragged(tmp_path: Path) -> None:
    path = write(tmp_path, "q.csv", 'a,b\n"x, y","line1\nline2"\n"he said ""hi""",2\n')
    assert read_frame(path).height == 2


def test_short_row_names_row_and_missing_column(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "a,b,c\n1,2,3\n4,5\n")
    with pytest.raises(DataError, match=r"r\.csv: line 3: column 'c' is missing \(2 fields, the header has 3\)"):
        read_frame(path)


def test_long_row_names_row_and_last_column(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "a,b\n1,2\n3,4\n5,6,7\n")
    with pytest.raises(DataError, match=r"line 4: extra field after column 'b'"):
        read_frame(path)


def test_bad_encoding_names_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "e.csv", b"a,b\n1,ok\n2,caf\xe9\n")
    with pytest.raises(DataError, match=r"e\.csv: line 3: column 'b': not valid UTF-8"):
        read_frame(path)


def test_wrong_type_names_row_column_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "n,m\n" + "".join(f"{i},{i}\n" for i in range(5)) + "x,5\n")
    with pytest.raises(DataError, match=r"t\.csv: line 7, column 'n': value 'x' is not an integer"):
        read_frame(path, infer_rows=3)


def test_as_text_keeps_every_csv_column_a_string(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "n\n1\nx\n")
    assert read_frame(path, as_text=True)["n"].to_list() == ["1", "x"]


def test_missing_file_and_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        read_frame(tmp_path / "nope.csv")
    with pytest.raises(DataError, match=r"unknown file type '\.xlsx'"):
        read_frame(write(tmp_path, "f.xlsx", "x"))


def test_invalid_json_line_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "b.jsonl", '{"a": 1}\n{"a": \n')
    with pytest.raises(DataError, match=r"b\.jsonl: record 2: invalid JSON at column \d+"):
        read_frame(path)


def test_corrupt_parquet_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a readable parquet file"):
        read_frame(write(tmp_path, "c.parquet", b"PAR1 not really"))


def test_json_lines_with_conflicting_types_name_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "m.jsonl", '{"a": 1}\n{"a": {"b": 2}}\n')
    with pytest.raises(DataError, match=r"m\.jsonl: record 2: field 'a': object where record 1 has number"):
        read_frame(path)
    with pytest.raises(DataError, match=r"record 1: expected a JSON object, got list"):
        read_frame(write(tmp_path, "l.jsonl", "[1, 2]\n"))


def test_header_only_csv_is_an_empty_frame_with_its_columns(tmp_path: Path) -> None:
    frame = read_frame(write(tmp_path, "h.csv", "a,b\n"), as_text=True)
    assert frame.columns == ["a", "b"] and frame.height == 0


def test_parquet_rows_are_record_numbers_and_text_renamed_parquet_is_named(tmp_path: Path) -> None:
    from seek.data.frames import read_table

    pl.DataFrame({"a": [1, 2]}).write_parquet(tmp_path / "p.parquet")
    assert read_table(tmp_path / "p.parquet").rows.to_list() == [1, 2]
    with pytest.raises(DataError, match=r"not a readable parquet file \(no PAR1 header: the file is text\)"):
        read_frame(write(tmp_path, "t.parquet", "a,b\n1,2\n"))
    whole = (tmp_path / "p.parquet").read_bytes()
    with pytest.raises(DataError, match="not a readable parquet file"):
        read_frame(write(tmp_path, "cut.parquet", whole[: len(whole) // 2]))


def test_bad_json_lines_become_rejected_records(tmp_path: Path) -> None:
    from seek.data.frames import read_table

    body = b'{"a": 1}\n{"a": \n\n[1]\n{"a": "s"}\n{"a": 3}\n\xff\n'
    table = read_table(write(tmp_path, "j.jsonl", body))
    assert table.frame["a"].to_list() == [1, 3] and table.rows.to_list() == [1, 5]
    assert table.rejected.select("row", "reason").rows() == [
        (2, "invalid JSON at column 7 (Expecting value)"),
        (3, "expected a JSON object, got list (line 4)"),
        (4, "field 'a': string where record 1 has number (line 5)"),
        (6, "not valid UTF-8 (byte 0xff at byte 1 of the line) (line 7)"),
    ]
