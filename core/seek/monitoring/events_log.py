"""The monitoring event log: what a server records per request, read back as frames for the daily report.

Writing is :class:`seek.serving.events.EventLog` (buffered, flushed by a background thread) into
``<root>/monitoring/<app>/<kind>-<YYYY-MM-DD>-<pid>.jsonl``, one JSON object a line, append-only.
Kinds and fields (``ts`` is UTC epoch seconds):

- ``prediction``: ``id``, ``version``, ``score`` (float or null), ``label``, ``latency_s`` (written by the routes)
- ``feedback``: ``id`` (a prediction id), ``label`` (the ground truth)
- ``request``: ``route``, ``status``, ``latency_s`` — every answered request, errors included (:func:`request_recorder`)
- ``input``: ``id``, ``features`` (the record flattened as the training reference is) (:func:`record_inputs`)
- ``resource`` (app folder ``_server``): ``pid``, ``cpu_s`` (process CPU time), ``rss_bytes`` — a heartbeat
  at most every ``RESOURCE_EVERY_S`` per process, from the request recorder

Reading is columnar (polars ``read_ndjson``) so a day of a million predictions is read in seconds; a
torn last line (a process killed mid-write) is dropped.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seek.monitoring.reference import flatten_record

if TYPE_CHECKING:
    import polars as pl

SERVER = "_server"
RESOURCE_EVERY_S = 10.0
KINDS = ("prediction", "feedback", "request", "input", "resource")
INFER_ROWS = 10_000  # lines polars reads to infer the schema


def resource_event() -> dict[str, Any]:
    """This process's CPU seconds and resident memory now."""
    t = os.times()
    return {"pid": os.getpid(), "cpu_s": round(t.user + t.system, 4), "rss_bytes": _rss()}


def request_recorder(
    log: Any, observe: Callable[[Any, int, float], None] | None = None
) -> Callable[[Any, int, float], None] | None:
    """An ASGI ``observe(scope, status, seconds)`` that records ``request`` events (and calls ``observe``).

    Only model routes (infer, predict, feedback) are recorded, under their app; health and metrics
    scrapes are not requests of an app. A ``resource`` heartbeat goes with the first request after
    every ``RESOURCE_EVERY_S`` seconds.
    """
    if log is None:
        return observe
    from seek.monitoring.metrics import route_of

    last = [0.0]

    def record(scope: Any, status: int, seconds: float) -> None:
        if observe is not None:
            observe(scope, status, seconds)
        app, route = route_of(scope["path"])
        if app != "-":
            log.add("request", app, {"route": route, "status": int(status), "latency_s": round(seconds, 6)})
        now = time.monotonic()
        if now - last[0] >= RESOURCE_EVERY_S:
            last[0] = now
            log.add("resource", SERVER, resource_event())

    return record


def record_inputs(log: Any, app: str, ids: Sequence[str], records: Sequence[Mapping[str, Any]], every: int = 1) -> None:
    """Record the flattened features of every ``every``-th record (drift is measured on these)."""
    if log is None:
        return
    for i in range(0, len(records), max(1, every)):
        log.add("input", app, {"id": ids[i], "features": flatten_record(records[i])})


# ---- reading ------------------------------------------------------------------------------------------


def event_files(root: str | os.PathLike[str], app: str, kind: str, since: datetime | None = None) -> list[Path]:
    """The log files of ``app``/``kind`` that may hold events at or after ``since`` (by their day)."""
    folder = Path(root) / "monitoring" / app
    day = since.astimezone(UTC).strftime("%Y-%m-%d") if since is not None else ""
    out = []
    for path in sorted(folder.glob(f"{kind}-*.jsonl")):
        stamp = path.name[len(kind) + 1 : len(kind) + 11]
        if stamp >= day:
            out.append(path)
    return out


def read_frame(
    root: str | os.PathLike[str],
    app: str,
    kind: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pl.DataFrame:
    """Every ``kind`` event of ``app`` with ``since <= ts < until`` as one frame (empty when none)."""
    import polars as pl

    frames = [_read_file(path) for path in event_files(root, app, kind, since)]
    frames = [f for f in frames if f.height]
    if not frames:
        return pl.DataFrame()
    frame = pl.concat(frames, how="diagonal_relaxed")
    if "ts" not in frame.columns:
        return frame.clear()
    frame = frame.with_columns(pl.col("ts").cast(pl.Float64))
    if since is not None:
        frame = frame.filter(pl.col("ts") >= since.timestamp())
    if until is not None:
        frame = frame.filter(pl.col("ts") < until.timestamp())
    return frame


def read_inputs(root: str | os.PathLike[str], app: str, since: datetime | None = None) -> pl.DataFrame:
    """Recorded input features as one column per feature."""
    frame = read_frame(root, app, "input", since)
    if "features" not in frame.columns:
        return frame.clear() if frame.width else frame
    return frame.select("features").unnest("features")


def _read_file(path: Path) -> pl.DataFrame:
    import polars as pl

    data = path.read_bytes()
    if data and not data.endswith(b"\n"):  # a torn last line from a process killed mid-write
        data = data[: data.rfind(b"\n") + 1]
    if not data:
        return pl.DataFrame()
    for infer in (INFER_ROWS, None):  # full-file inference is 4x slower: only when a type changes late
        try:
            return pl.read_ndjson(io.BytesIO(data), infer_schema_length=infer)
        except pl.exceptions.PolarsError:
            continue
    rows = []  # a damaged line inside the file: parse line by line, skip the bad ones
    for line in data.splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return pl.from_dicts(rows, infer_schema_length=None) if rows else pl.DataFrame()


def _rss() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # not Linux: fall back to the peak
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if os.uname().sysname == "Darwin" else peak * 1024)
