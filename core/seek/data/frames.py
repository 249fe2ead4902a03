"""Reading CSV, parquet and JSON-lines files into polars frames, with one-line errors naming file, row and column."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seek.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
_CHUNK = 1 << 26


def read_frame(
    path: str | os.PathLike[str],
    *,
    as_text: bool = False,
    infer_rows: int = 10_000,
    separator: str | None = None,
) -> pl.DataFrame:
    """Read a CSV / parquet / JSON-lines file; ``as_text`` keeps every CSV column as a string for a Schema to cast.

    Raises :class:`DataError` with one line naming the file, the row and the column when the file is
    missing, not UTF-8, ragged, or has a value that does not fit its column's type.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a CSV, parquet or JSON-lines file")
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return _read_parquet(path)
    if suffix in JSONL_SUFFIXES:
        return _read_jsonl(path)
    if suffix in CSV_SUFFIXES:
        sep = separator or ("\t" if suffix == ".tsv" else ",")
        return _read_csv(path, sep, as_text=as_text, infer_rows=infer_rows)
    raise DataError(f"{path}: unknown file type {suffix!r} (expected .csv, .tsv, .parquet or .jsonl)")


def _read_parquet(path: Path) -> pl.DataFrame:
    import polars as pl

    try:
        return pl.read_parquet(path)
    except Exception as exc:  # polars raises several kinds for a corrupt file
        raise DataError(f"{path}: not a readable parquet file ({_first_line(exc)})") from exc


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


# -- CSV ------------------------------------------------------------------------------------------


def _read_csv(path: Path, sep: str, *, as_text: bool, infer_rows: int) -> pl.DataFrame:
    import polars as pl

    _check_csv_shape(path, sep)
    try:
        if as_text:
            return pl.read_csv(path, separator=sep, infer_schema=False)
        return pl.read_csv(path, separator=sep, infer_schema_length=infer_rows)
    except pl.exceptions.PolarsError as exc:
        message = str(exc)
        if "utf-8" in message.lower() or "utf8" in message.lower():
            _raise_encoding(path, sep)
        if "could not parse" in message:
            _raise_wrong_type(path, sep, message)
        raise DataError(f"{path}: cannot read CSV ({_first_line(exc)})") from exc


def _check_csv_shape(path: Path, sep: str) -> None:
    """Raise DataError at the first record whose field count differs from the header's (vectorised, quote-aware)."""
    import numpy as np

    if len(sep.encode()) != 1:
        return
    sep_byte, parity = sep.encode()[0], np.uint8(0)
    expected: int | None = None
    carry = b""
    with open(path, "rb") as handle:
        while True:
            block = handle.read(_CHUNK)
            if not block and not carry:
                break
            data = carry + block
            if block:
                # Cut at the last newline so no record straddles two chunks.
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    carry = data
                    continue
                data, carry = data[:cut], data[cut:]
            else:
                carry = b""
            counts, empties, parity = _fields_per_line(np.frombuffer(data, dtype=np.uint8), sep_byte, parity)
            if expected is None:
                if len(counts) == 0:
                    return
                expected = int(counts[0])
                counts, empties = counts[1:], empties[1:]
            if ((counts != expected) & ~empties).any():
                # A stray quote inside an unquoted field fools the parity count: let the csv module confirm.
                _raise_ragged(path, sep)
                return


def _raise_ragged(path: Path, sep: str) -> None:
    """Name the first record whose field count differs from the header's (error path only: a Python loop)."""
    import csv

    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle, delimiter=sep)
        header = next(reader, [])
        for row_no, record in enumerate(reader, start=1):
            if record and len(record) != len(header):
                found, expected = len(record), len(header)
                where = (
                    f"column {header[found]!r} is missing"
                    if found < expected
                    else f"extra field after column {header[-1]!r}"
                )
                raise DataError(f"{path}: row {row_no}: {where} ({found} fields, the header has {expected})")


def _fields_per_line(buf: np.ndarray, sep_byte: int, parity: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """Count fields per record of a byte buffer, ignoring separators and newlines inside quotes."""
    import numpy as np

    quotes = (buf == 0x22).astype(np.uint8)
    in_quote = np.bitwise_xor.accumulate(quotes) ^ parity if len(buf) else quotes
    outside = in_quote == 0
    newlines = np.flatnonzero((buf == 0x0A) & outside)
    if len(buf) and (len(newlines) == 0 or newlines[-1] != len(buf) - 1):
        newlines = np.append(newlines, len(buf))
    seps = np.flatnonzero((buf == sep_byte) & outside)
    before = np.searchsorted(seps, newlines)
    counts = np.diff(np.concatenate(([0], before))) + 1
    starts = np.concatenate(([0], newlines[:-1] + 1))
    lengths = newlines - starts
    empties = (lengths == 0) | ((lengths == 1) & (buf[np.minimum(starts, len(buf) - 1)] == 0x0D))
    new_parity = np.uint8(in_quote[-1]) if len(buf) else parity
    return counts, empties, new_parity


def _raise_encoding(path: Path, sep: str) -> None:
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        field = data.count(sep.encode(), line_start, exc.start)
        header = data.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r").split(sep)
        column = header[field] if field < len(header) else f"#{field + 1}"
        raise DataError(
            f"{path}: row {line - 1} (line {line}), column {column!r}: not valid UTF-8 "
            f"(byte 0x{data[exc.start]:02x} at offset {exc.start}); re-save the file as UTF-8"
        ) from None
    raise DataError(f"{path}: not valid UTF-8")


def _raise_wrong_type(path: Path, sep: str, message: str) -> None:
    import re

    import polars as pl

    match = re.search(r"as dtype `(\w+)` at column '([^']*)'", message)
    if not match:
        raise DataError(f"{path}: {message.splitlines()[0]}")
    dtype_name, column = match.groups()
    dtype = {"i64": pl.Int64, "f64": pl.Float64, "bool": pl.Boolean}.get(dtype_name, pl.Int64)
    text = pl.read_csv(path, separator=sep, infer_schema=False, columns=[column])[column]
    cast = text.cast(dtype, strict=False)
    bad = (cast.is_null() & text.is_not_null()).arg_true()
    row = int(bad[0]) + 1 if len(bad) else 0
    value = text[row - 1] if row else "?"
    raise DataError(
        f"{path}: row {row}, column {column!r}: value {value!r} is not {_TYPE_WORDS.get(dtype_name, dtype_name)}"
        " like the rows above it; declare the column's type in a schema"
    )


_TYPE_WORDS = {"i64": "an integer", "f64": "a number", "bool": "a boolean"}


# -- JSON lines ------------------------------------------------------------------------------------


def _read_jsonl(path: Path) -> pl.DataFrame:
    import polars as pl

    try:
        return pl.read_ndjson(path, infer_schema_length=None)
    except Exception as exc:  # polars raises several kinds; find the line ourselves
        _diagnose_jsonl(path)
        raise DataError(f"{path}: cannot read JSON lines ({_first_line(exc)})") from exc


def _diagnose_jsonl(path: Path) -> None:
    """Walk the file once to name the first undecodable, non-object or type-conflicting line (error path only)."""
    kinds: dict[str, tuple[str, int]] = {}
    with open(path, "rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{path}: line {line_no}: not valid UTF-8 (byte offset {exc.start} in the line)"
                ) from None
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}: line {line_no}, column {exc.colno}: invalid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise DataError(f"{path}: line {line_no}: expected a JSON object, got {type(record).__name__}")
            for key, value in record.items():
                kind = _json_kind(value)
                if kind == "null":
                    continue
                seen = kinds.setdefault(key, (kind, line_no))
                if not _compatible(seen[0], kind):
                    raise DataError(f"{path}: line {line_no}, field {key!r}: {kind} where line {seen[1]} has {seen[0]}")


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


def _compatible(first: str, kind: str) -> bool:
    return first == kind
