"""Reading CSV, parquet and JSON-lines files into polars frames; damaged records become rejected rows.

:func:`read_table` returns a :class:`ReadResult`: the rows that parse, the row number of each, and the
records that do not (row number, reason, raw text). Pass it to ``Pipeline.run`` or ``validate`` and the
read rejects join the rejected rows, so rows in = kept + rejected counts every record of the file.
:func:`read_frame` returns just the frame and raises one DataError line when any record is damaged.

Row numbers, one convention everywhere (the ``row`` column of rejected.parquet and every message):

- CSV: the file's line number; the header is line 1, so the first data row is line 2, and a record
  with quoted newlines is numbered by the line it starts on. Blank lines are not records.
- parquet and JSON lines: the 1-based record number (for JSON lines, blank lines are not records; a
  message names the line too when the two differ).
- an in-memory frame given to ``Pipeline.run``: the 1-based record number.

A file that is not what its suffix says (a parquet or zip renamed .csv, a binary file) is one DataError
line naming what it is.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seek.errors import DataError

if TYPE_CHECKING:
    import polars as pl

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
#: The step name read rejects carry in the rejected frame.
READ_STEP = "read"


@dataclass
class ReadResult:
    """A file as read: good rows, each row's number (see the module docstring), and the damaged records.

    ``rejected`` has the columns ``row`` (Int64), ``step`` (``"read"``), ``reason`` and ``raw`` (the
    record's text as it was in the file).
    """

    frame: pl.DataFrame
    rows: pl.Series
    rejected: pl.DataFrame
    source: str

    @property
    def rows_in(self) -> int:
        """Every record of the file: good rows plus damaged ones."""
        return self.frame.height + self.rejected.height


def read_table(
    path: str | os.PathLike[str],
    *,
    as_text: bool = False,
    infer_rows: int = 10_000,
    separator: str | None = None,
) -> ReadResult:
    """Read a CSV / parquet / JSON-lines file, keeping damaged records as rejected rows.

    ``as_text`` keeps every CSV column as a string for a Schema to cast. Raises DataError (one line)
    only when the file as a whole cannot be read: missing, a directory, not the format its suffix says,
    no header line, or an unknown suffix.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a CSV, parquet or JSON-lines file")
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        frame = _read_parquet(path)
        return _result(path, frame, _numbers(1, frame.height), [])
    if suffix in JSONL_SUFFIXES:
        return _read_jsonl(path)
    if suffix in CSV_SUFFIXES:
        from seek.data.csv_reader import read_csv_table

        sep = separator or ("\t" if suffix == ".tsv" else ",")
        frame, lines, damage = read_csv_table(path, sep, as_text=as_text, infer_rows=infer_rows)
        return _result(path, frame, lines, damage.rejected)
    raise DataError(f"{path}: unknown file type {suffix!r} (expected .csv, .tsv, .parquet or .jsonl)")


def read_frame(
    path: str | os.PathLike[str],
    *,
    as_text: bool = False,
    infer_rows: int = 10_000,
    separator: str | None = None,
) -> pl.DataFrame:
    """Read a CSV / parquet / JSON-lines file; ``as_text`` keeps every CSV column as a string for a Schema to cast.

    Raises :class:`DataError` with one line naming the file, the line and the column when the file is
    missing, not what its suffix says, or has a damaged record (ragged, bad quoting, not UTF-8); use
    :func:`read_table` to load the rest and keep the damaged records as rejected rows.
    """
    result = read_table(path, as_text=as_text, infer_rows=infer_rows, separator=separator)
    if result.rejected.height:
        first = result.rejected.row(0, named=True)
        more = result.rejected.height - 1
        also = f" (and {more:,} more damaged record{'s' if more > 1 else ''})" if more else ""
        raise DataError(f"{result.source}: {_where(path, first['row'])}: {first['reason']}{also}")
    return result.frame


def _where(path: str | os.PathLike[str], row: int) -> str:
    kind = Path(path).suffix.lower()
    return f"line {row}" if kind in CSV_SUFFIXES else f"record {row}"


def _numbers(start: int, count: int) -> Any:
    import numpy as np

    return np.arange(start, start + count, dtype=np.int64)


def _result(path: Path, frame: pl.DataFrame, rows: Any, rejected: list[tuple[int, str, str]]) -> ReadResult:
    import polars as pl

    bad = pl.DataFrame(
        {
            "row": [r[0] for r in rejected],
            "step": [READ_STEP] * len(rejected),
            "reason": [r[1] for r in rejected],
            "raw": [r[2] for r in rejected],
        },
        schema={"row": pl.Int64, "step": pl.String, "reason": pl.String, "raw": pl.String},
    )
    return ReadResult(frame=frame, rows=pl.Series("row", rows, dtype=pl.Int64), rejected=bad, source=str(path))


def _read_parquet(path: Path) -> pl.DataFrame:
    import polars as pl

    with open(path, "rb") as handle:
        head = handle.read(4)
    if head != b"PAR1":
        what = "empty" if not head else ("text" if _looks_like_text(path) else "not parquet")
        raise DataError(f"{path}: not a readable parquet file (no PAR1 header: the file is {what})")
    try:
        return pl.read_parquet(path)
    except Exception as exc:  # polars and arrow raise several kinds for a corrupt or truncated file
        raise DataError(f"{path}: not a readable parquet file ({_first_line(exc)})") from exc


def _looks_like_text(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(4096)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # a character cut at the end of the sample is still text
    return b"\x00" not in head


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


# -- JSON lines ------------------------------------------------------------------------------------


def _read_jsonl(path: Path) -> ReadResult:
    import polars as pl

    from seek.data.csv_reader import sniff_not_text

    sniff_not_text(path, kind="JSON-lines")
    if not _records(path):
        raise DataError(f"{path}: empty file (no JSON records)")
    try:
        frame = pl.read_ndjson(path, infer_schema_length=None)
    except Exception:  # noqa: BLE001 (polars raises several kinds for a bad line; the line-level pass names each)
        return _read_jsonl_lines(path)
    # polars skips blank lines, so its rows are the 1-based record numbers.
    return _result(path, frame, _numbers(1, frame.height), [])


def _records(path: Path) -> int:
    """Non-blank lines: the records of a JSON-lines file."""
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def _read_jsonl_lines(path: Path) -> ReadResult:
    """Walk the file once: undecodable, non-object and type-conflicting records become rejected rows."""
    import polars as pl

    kinds: dict[str, tuple[str, int]] = {}
    good: list[bytes] = []
    rows: list[int] = []
    rejected: list[tuple[int, str, str]] = []
    record = 0
    with open(path, "rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            record += 1
            at = "" if record == line_no else f" (line {line_no})"
            reason = _judge_json(raw, kinds, record)
            if reason:
                rejected.append((record, reason + at, raw.rstrip(b"\r\n").decode("utf-8", "backslashreplace")))
            else:
                good.append(raw.rstrip(b"\r\n"))
                rows.append(record)
    if good:
        try:
            frame = pl.read_ndjson(io.BytesIO(b"\n".join(good)), infer_schema_length=None)
        except Exception as exc:  # every record parsed alone; what polars still refuses is named as it says
            raise DataError(f"{path}: cannot read JSON lines ({_first_line(exc)})") from exc
    else:
        frame = pl.DataFrame()
    return _result(path, frame, rows, rejected)


def _judge_json(raw: bytes, kinds: dict[str, tuple[str, int]], record: int) -> str:
    """Why one JSON line cannot be a row ("" when it can); records the kind of each field it sets."""
    try:
        text = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        return f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line)"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"invalid JSON at column {exc.colno} ({exc.msg})"
    except RecursionError:
        return "invalid JSON (nested too deeply)"
    if not isinstance(value, dict):
        return f"expected a JSON object, got {type(value).__name__}"
    seen_now: dict[str, tuple[str, int]] = {}
    for key, item in value.items():
        kind = _json_kind(item)
        if kind == "null":
            continue
        seen = kinds.get(key, (kind, record))
        if seen[0] != kind:
            return f"field {key!r}: {kind} where record {seen[1]} has {seen[0]}"
        seen_now[key] = seen
    kinds.update(seen_now)
    return ""


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "object"


def write_parquet_frames(frames: Iterable[pl.DataFrame], path: Path) -> int:
    """Write ``frames`` (one schema) into one parquet file, one frame in memory at a time, atomically; the row count."""
    import pyarrow.parquet as pq

    tmp = path.with_name(path.name + ".tmp")
    rows, writer = 0, None
    try:
        for frame in frames:
            table = frame.to_arrow()
            writer = writer or pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table, row_group_size=500_000)
            rows += frame.height
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(path)
    return rows
