"""The line-level CSV path for damaged files: each record that cannot be parsed becomes a rejected row.

Only used when :mod:`seek.data.csv_reader`'s fast path finds damage it cannot simply cut out (quotes
involved). Row numbers are the file's line numbers (header = line 1).
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from seek.errors import DataError

if TYPE_CHECKING:
    import polars as pl

#: A quoted field may span this many lines before its opening quote is judged stray.
MAX_RECORD_LINES = 10_000
#: And this many characters (also the ``csv`` module's field size limit on the damaged path).
MAX_RECORD_CHARS = 1 << 28


@dataclass
class TextRows:
    """What the line-level path recovered: header, good records with their lines, and the rejects."""

    header: list[str]
    records: list[list[str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason, raw)


@contextlib.contextmanager
def field_limit(limit: int) -> Iterator[None]:
    """Raise the csv module's (process-wide) field size limit for one read, then restore it."""
    previous = csv.field_size_limit()
    csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def decode(raw: bytes, sep: str = ",", header: list[str] | None = None) -> tuple[str | None, str]:
    """(text, "") for valid UTF-8, else (None, the reason naming the first bad byte and its column)."""
    try:
        return raw.decode("utf-8"), ""
    except UnicodeDecodeError as exc:
        where = ""
        if header:
            index = raw.count(sep.encode(), 0, exc.start)
            where = f"column {header[index]!r}: " if index < len(header) else f"field {index + 1}: "
        return None, (
            f"{where}not valid UTF-8 (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line); "
            "re-save the file as UTF-8"
        )


def raw_text(raw: bytes) -> str:
    """A record's bytes as text for the ``raw`` column; bytes that are not UTF-8 shown as ``\\xNN``."""
    return raw.decode("utf-8", "backslashreplace")


def read_damaged(path: Path, sep: str) -> TextRows:
    """Parse ``path`` line by line; every record that cannot be parsed becomes a rejected (line, reason, raw).

    A field opened by a quote may continue on later lines (up to MAX_RECORD_LINES); if it never closes,
    or the record it makes has the wrong field count, only its first line is rejected as a stray quote
    and parsing resumes on the next line, so one bad quote costs one row, not the rest of the file.
    """
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = [line[:-1] if line.endswith(b"\r") else line for line in data.split(b"\n")]
    if lines and lines[-1] == b"":
        lines.pop()
    with field_limit(MAX_RECORD_CHARS):
        header_text, reason = decode(lines[0]) if lines else ("", "")
        if header_text is not None and not header_text.strip():
            raise DataError(f"{path}: line 1 (the header) is blank")
        if header_text is None:
            raise DataError(f"{path}: line 1 (the header): {reason}; re-save the file as UTF-8")
        header, used, error = _parse_record(lines, 0, sep, None)
        if error or header is None:
            raise DataError(f"{path}: line 1 (the header): {error or 'cannot be parsed'}")
        result = TextRows(header=header)
        i = used
        while i < len(lines):
            if not lines[i].strip():
                i += 1
                continue
            record, used, error = _parse_record(lines, i, sep, header)
            if record is None:
                result.rejected.append((i + 1, error, raw_text(lines[i])))
                i += 1
                continue
            if len(record) != len(header):
                result.rejected.append(
                    (i + 1, ragged_reason(record, header), raw_text(b"\n".join(lines[i : i + used])))
                )
            else:
                result.records.append(record)
                result.lines.append(i + 1)
            i += used
    return result


def _parse_record(lines: list[bytes], i: int, sep: str, header: list[str] | None) -> tuple[list[str] | None, int, str]:
    """Parse the record starting at line ``i``: (fields, lines used, "") or (None, 1, reason)."""
    expected = len(header) if header is not None else None
    text, reason = decode(lines[i], sep, header)
    if text is None:
        return None, 1, reason
    j = i
    while True:
        try:
            fields = next(csv.reader([text], delimiter=sep, strict=True), [])
        except csv.Error as exc:
            if "unexpected end of data" not in str(exc):
                if j > i:  # the joined lines do not make a record: the quote on line i was stray
                    return None, 1, "stray quote: the quoted field it opens does not end a record"
                if "new-line character" in str(exc):
                    return None, 1, "a bare carriage return (\\r) inside an unquoted field"
                return None, 1, f"malformed quoting ({exc})"
            # An open quote: the field may go on over the next lines; join lines until one holds a quote.
            while True:
                j += 1
                if j >= len(lines) or j - i >= MAX_RECORD_LINES or len(text) > MAX_RECORD_CHARS:
                    return None, 1, "stray quote: a quoted field opened on this line never closes"
                more, _ = decode(lines[j])
                if more is None:
                    return None, 1, "stray quote: a quoted field opened on this line never closes"
                text += "\n" + more
                if '"' in more:
                    break
            continue
        if j > i and expected is not None and len(fields) != expected:
            return None, 1, "stray quote: the quoted field it opens does not end a record"
        return fields, j - i + 1, ""


def ragged_reason(record: list[str], header: list[str]) -> str:
    """Why a record with the wrong field count is rejected, naming the missing or last column."""
    found, expected = len(record), len(header)
    where = f"column {header[found]!r} is missing" if found < expected else f"extra field after column {header[-1]!r}"
    return f"{where} ({found} fields, the header has {expected})"


def frame_from_records(rows: TextRows, as_text: bool, infer_rows: int) -> pl.DataFrame:
    """Build the frame of good records: text columns, or types inferred as polars would for a clean file."""
    import polars as pl

    header = unique_names(rows.header)
    if as_text or not rows.records:
        columns = list(zip(*rows.records, strict=True)) if rows.records else [() for _ in header]
        return pl.DataFrame(
            {
                name: [value if value != "" else None for value in column]
                for name, column in zip(header, columns, strict=True)
            },
            schema=dict.fromkeys(header, pl.String),
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows.records)
    return pl.read_csv(io.BytesIO(buffer.getvalue().encode()), infer_schema_length=None)


def unique_names(header: list[str]) -> list[str]:
    """Header names made unique the way polars does (``a``, ``a_duplicated_0``)."""
    seen: dict[str, int] = {}
    out = []
    for name in header:
        if name in seen:
            out.append(f"{name}_duplicated_{seen[name]}")
            seen[name] += 1
        else:
            seen[name] = 0
            out.append(name)
    return out
