"""CSV reading that turns damage into rejected rows: a fast polars path, a careful line-level path for damage.

The fast path is one vectorised numpy pass over the bytes (quote-aware field counts and the line each
record starts on) followed by ``polars.read_csv``. Only when that pass or polars finds damage (ragged
records, stray or mid-field quotes, bad UTF-8) is the file re-read line by line with the ``csv``
module, and each damaged record becomes a rejected row: its line number, the reason and the raw line.

Row numbers are the file's line numbers: the header is line 1, so the first data row is line 2; a
record with quoted newlines is numbered by the line it starts on. Blank lines are not records.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seek.data.csv_lines import TextRows, decode, frame_from_records, ragged_reason, raw_text, read_damaged
from seek.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

_CHUNK = 1 << 26
_SIGNATURES = (
    (b"PAR1", "a parquet file, not CSV text (rename it to .parquet)"),
    (b"PK\x03\x04", "a zip archive, not CSV text (unzip it first)"),
    (b"\x1f\x8b", "gzip-compressed, not CSV text (decompress it first)"),
    (b"\xff\xfe", "UTF-16 text, not UTF-8 (re-save it as UTF-8)"),
    (b"\xfe\xff", "UTF-16 text, not UTF-8 (re-save it as UTF-8)"),
    (b"%PDF", "a PDF document, not CSV text"),
    (b"\x89PNG", "a PNG image, not CSV text"),
    (b"SQLite format 3", "an SQLite database, not CSV text"),
)


def sniff_not_text(path: Path, kind: str = "CSV") -> None:
    """Raise DataError naming what ``path`` is when its first bytes say it is not text (parquet, zip, binary)."""
    with open(path, "rb") as handle:
        head = handle.read(8192)
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            raise DataError(f"{path}: is {what.replace('CSV', kind)}")
    if b"\x00" in head:
        raise DataError(f"{path}: is a binary file (NUL bytes), not {kind} text")


def read_csv_table(path: Path, sep: str, *, as_text: bool, infer_rows: int) -> tuple[pl.DataFrame, Any, TextRows]:
    """Read a CSV file; return (frame of good rows, their line numbers as a numpy array, the damage found)."""
    import numpy as np
    import polars as pl

    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file (no header line)")
    sniff_not_text(path)
    shape = _scan(path, sep)
    if shape is not None:
        counts, empties, lines = shape[:3]
        if len(counts) == 0:
            raise DataError(f"{path}: empty file (no header line)")
        if empties[0]:
            raise DataError(f"{path}: line 1 (the header) is blank")
        expected = int(counts[0])
        data_counts, data_empty = counts[1:], empties[1:]
        ragged = (data_counts != expected) & ~data_empty
        if not ragged.any():
            frame = _polars_read(path, sep, as_text=as_text, infer_rows=infer_rows)
            if frame is not None and frame.height == len(data_counts):
                keep = ~data_empty
                if not keep.all():
                    frame = frame.filter(pl.Series(keep))
                return frame, lines[1:][keep].astype(np.int64), TextRows(header=frame.columns)
        cut = _without_damaged(path, sep, shape, ragged, as_text=as_text, infer_rows=infer_rows)
        if cut is not None:
            return cut
    damaged = read_damaged(path, sep)
    return frame_from_records(damaged, as_text, infer_rows), np.asarray(damaged.lines, dtype=np.int64), damaged


def _polars_read(path: Path, sep: str, *, as_text: bool, infer_rows: int) -> pl.DataFrame | None:
    """polars' reader; None when the file needs the line-level path (bad UTF-8, quotes polars refuses)."""
    import polars as pl

    try:
        if as_text:
            return pl.read_csv(path, separator=sep, infer_schema=False)
        return pl.read_csv(path, separator=sep, infer_schema_length=infer_rows)
    except pl.exceptions.PolarsError as exc:
        message = str(exc)
        if "could not parse" in message and "as dtype `str`" not in message and not as_text:
            raise_wrong_type(path, sep, message)
        # Everything else polars refuses (bad UTF-8, stray quotes, malformed chunks) is damage we locate line by line.
        return None


def _scan(path: Path, sep: str) -> tuple[np.ndarray, ...] | None:
    """Per record (header included): field count, blank flag, starting line, start and end byte; None if unsure.

    None for a multi-byte separator or a quote still open at the end of the file.
    """
    import numpy as np

    if len(sep.encode()) != 1:
        return None
    sep_byte, parity = sep.encode()[0], np.uint8(0)
    parts: list[tuple[np.ndarray, ...]] = []
    line_offset, byte_offset = 1, 0
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
            buf = np.frombuffer(data, dtype=np.uint8)
            counts, empties, starts, ends, all_newlines, parity = fields_per_line(buf, sep_byte, parity)
            line_of = np.searchsorted(all_newlines, starts) + line_offset
            parts.append((counts, empties, line_of, starts + byte_offset, ends + byte_offset))
            line_offset += len(all_newlines)
            byte_offset += len(data)
    if parity:
        return None  # a quote is still open at the end of the file: the line-level path finds where it opened
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, np.int64)
    return tuple(np.concatenate(column) for column in zip(*parts, strict=True))


def fields_per_line(
    buf: np.ndarray, sep_byte: int, parity: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, Any]:
    """Count fields per record of a byte buffer, ignoring separators and newlines inside quotes.

    Returns (field counts, blank-record flags, record start and end offsets, every newline's offset,
    the quote state at the end).
    """
    import numpy as np

    newline_mask = buf == 0x0A
    all_newlines = np.flatnonzero(newline_mask)
    quotes = buf == 0x22
    if not parity and not quotes.any():
        # No quote in this chunk (the common case): every newline and separator counts, no prefix scan.
        newlines, seps, new_parity = all_newlines, np.flatnonzero(buf == sep_byte), parity
    else:
        in_quote = np.bitwise_xor.accumulate(quotes.view(np.uint8)) ^ parity
        outside = in_quote == 0
        newlines = np.flatnonzero(newline_mask & outside)
        seps = np.flatnonzero((buf == sep_byte) & outside)
        new_parity = np.uint8(in_quote[-1]) if len(buf) else parity
    if len(buf) and (len(newlines) == 0 or newlines[-1] != len(buf) - 1):
        newlines = np.append(newlines, len(buf))
    before = np.searchsorted(seps, newlines)
    counts = np.diff(np.concatenate(([0], before))) + 1
    starts = np.concatenate(([0], newlines[:-1] + 1)).astype(np.int64)
    lengths = newlines - starts
    empties = (lengths == 0) | ((lengths == 1) & (buf[np.minimum(starts, len(buf) - 1)] == 0x0D))
    return counts, empties, starts, newlines.astype(np.int64), all_newlines, new_parity


def _without_damaged(
    path: Path, sep: str, shape: tuple[np.ndarray, ...], ragged: np.ndarray, *, as_text: bool, infer_rows: int
) -> tuple[pl.DataFrame, Any, TextRows] | None:
    """Cut out ragged and non-UTF-8 records that hold no quote and let polars read the rest (None: not that simple)."""
    import numpy as np
    import polars as pl

    counts, empties, lines, starts, ends = shape
    data = path.read_bytes()
    not_utf8 = _not_utf8_records(data, starts)
    if not_utf8 is None:
        return None
    bad = np.union1d(np.flatnonzero(ragged) + 1, not_utf8).astype(np.int64)  # record 0 is the header
    if len(bad) == 0 or bad[0] == 0:
        return None
    raws = [data[starts[i] : ends[i]].rstrip(b"\r") for i in bad]
    if any(b'"' in raw for raw in raws):
        return None
    header_text, _ = decode(data[starts[0] : ends[0]].rstrip(b"\r").removeprefix(b"\xef\xbb\xbf"))
    if header_text is None:
        return None
    try:
        header = next(csv.reader([header_text], delimiter=sep), [])
    except csv.Error:  # e.g. a bare carriage return inside the header: the line-level path sorts it out
        return None
    pieces, at = [], 0
    for i in bad:
        pieces.append(data[at : starts[i]])
        at = min(int(ends[i]) + 1, len(data))
    pieces.append(data[at:])
    rest = io.BytesIO(b"".join(pieces))
    try:
        if as_text:
            frame = pl.read_csv(rest, separator=sep, infer_schema=False)
        else:
            frame = pl.read_csv(rest, separator=sep, infer_schema_length=infer_rows)
    except pl.exceptions.PolarsError:  # more than ragged rows wrong: the line-level path sorts it out
        return None
    cut = np.zeros(len(counts) - 1, dtype=bool)
    cut[bad - 1] = True
    keep = ~empties[1:] & ~cut
    if frame.height != int((~cut).sum()):
        return None
    frame = frame.filter(pl.Series(keep[~cut]))
    damage = TextRows(header=header)
    for i, raw in zip(bad, raws, strict=True):
        text, reason = decode(raw, sep, header)
        if text is not None:
            found = int(counts[i])
            reason = ragged_reason([""] * found, header) if header else f"{found} fields"
        damage.rejected.append((int(lines[i]), reason, raw_text(raw)))
    return frame, lines[1:][keep].astype(np.int64), damage


def _not_utf8_records(data: bytes, starts: np.ndarray, limit: int = 10_000) -> np.ndarray | None:
    """Indices of the records holding bytes that are not UTF-8 (None past ``limit`` of them: a non-UTF-8 file)."""
    import numpy as np

    found: list[int] = []
    at = 0
    while len(found) <= limit:
        try:
            data[at:].decode("utf-8")
        except UnicodeDecodeError as exc:
            record = int(np.searchsorted(starts, at + exc.start, side="right")) - 1
            found.append(record)
            following = record + 1
            if following >= len(starts):
                break
            at = int(starts[following])
            continue
        break
    return np.asarray(found, dtype=np.int64) if len(found) <= limit else None


def raise_wrong_type(path: Path, sep: str, message: str) -> None:
    """Name the line and column of the first value that does not fit the type polars inferred."""
    import polars as pl

    match = re.search(r"as dtype `(\w+)` at column '([^']*)'", message)
    if not match:
        raise DataError(f"{path}: {message.splitlines()[0]}")
    dtype_name, column = match.groups()
    dtype = {"i64": pl.Int64, "f64": pl.Float64, "bool": pl.Boolean}.get(dtype_name, pl.Int64)
    text = pl.read_csv(path, separator=sep, infer_schema=False, columns=[column])[column]
    cast = text.cast(dtype, strict=False)
    bad = (cast.is_null() & text.is_not_null()).arg_true()
    index = int(bad[0]) if len(bad) else -1
    value = text[index] if index >= 0 else "?"
    where = f"line {index + 2}, " if index >= 0 else ""
    raise DataError(
        f"{path}: {where}column {column!r}: value {value!r} is not {_TYPE_WORDS.get(dtype_name, dtype_name)}"
        " like the rows above it; declare the column's type in a schema"
    )


_TYPE_WORDS = {"i64": "an integer", "f64": "a number", "bool": "a boolean"}
