"""Request limits: per-key token buckets (429 + Retry-After) and upload checks (size, type, zip safety)."""

from __future__ import annotations

import math
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from seek.errors import DataError


class RateLimiter:
    """A token bucket per key: ``rate`` tokens a second, up to ``burst`` banked."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, rate: float, burst: int) -> float:
        """Take one token; returns 0 when allowed, else the seconds to wait before retrying."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate


def retry_after(seconds: float) -> str:
    """The Retry-After header value (whole seconds, at least 1)."""
    return str(max(1, math.ceil(seconds)))


UPLOAD_TYPES = {".csv": "table", ".jsonl": "table", ".json": "table", ".zip": "zip", ".dcm": "file"}


@dataclass(frozen=True)
class ZipLimits:
    """What a zip upload may hold: member count, total unpacked size and compression ratio."""

    max_members: int = 10_000
    max_unpacked_bytes: int = 2 << 30
    max_ratio: float = 200.0


def upload_kind(filename: str) -> str:
    """``table``, ``zip`` or ``file`` for an upload's name; a DataError for anything else or a path."""
    name = PurePosixPath(filename.replace("\\", "/")).name
    if not name or name != filename or name.startswith(".") or "\0" in name or len(name) > 200:
        raise DataError(f"upload {filename!r}: not a plain file name")
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in UPLOAD_TYPES:
        raise DataError(f"upload {name!r}: type {suffix or '(none)'} not accepted ({', '.join(UPLOAD_TYPES)})")
    return UPLOAD_TYPES[suffix]


def check_zip(path: Path, limits: ZipLimits = ZipLimits()) -> list[zipfile.ZipInfo]:
    """Refuse zip-slip paths, links, too many members and zip bombs; returns the members."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise DataError("upload: not a valid zip file") from None
    with archive:
        members = archive.infolist()
        if len(members) > limits.max_members:
            raise DataError(f"upload: zip holds {len(members)} members (limit {limits.max_members})")
        total = 0
        for info in members:
            parts = PurePosixPath(info.filename.replace("\\", "/"))
            if parts.is_absolute() or ".." in parts.parts or ":" in info.filename:
                raise DataError(f"upload: zip member {info.filename!r} leaves the extraction folder")
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise DataError(f"upload: zip member {info.filename!r} is a symbolic link")
            total += info.file_size
            if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
                raise DataError(f"upload: zip member {info.filename!r} expands {limits.max_ratio:.0f}x+ (zip bomb?)")
        if total > limits.max_unpacked_bytes:
            raise DataError(f"upload: zip unpacks to {total} bytes (limit {limits.max_unpacked_bytes})")
    return members


def extract_zip(path: Path, target: Path, limits: ZipLimits = ZipLimits()) -> Path:
    """Extract a checked zip into ``target``, counting bytes as written (headers can lie)."""
    check_zip(path, limits)
    target.mkdir(parents=True, exist_ok=True)
    written = 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            out = (target / info.filename).resolve()
            if not out.is_relative_to(target.resolve()):
                raise DataError(f"upload: zip member {info.filename!r} leaves the extraction folder")
            if info.is_dir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(out, "wb") as dst:
                while block := src.read(1 << 20):
                    written += len(block)
                    if written > limits.max_unpacked_bytes:
                        raise DataError("upload: zip unpacks past the size limit (zip bomb?)")
                    dst.write(block)
    return target
