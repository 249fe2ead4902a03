"""Predictions and feedback labels, recorded for monitoring: JSON lines per app, day and process.

Requests only append to a list; a background thread writes every ``flush_s`` seconds, so recording
costs the request path no file I/O. Files: ``<root>/monitoring/<app>/<kind>-<YYYY-MM-DD>-<pid>.jsonl``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class EventLog:
    """Buffered JSON-lines recorder for ``prediction`` and ``feedback`` events."""

    def __init__(self, root: str | os.PathLike[str], flush_s: float = 1.0) -> None:
        self.folder = Path(root) / "monitoring"
        self.flush_s = flush_s
        self._buffer: list[tuple[str, str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the background writer."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="seek-events", daemon=True)
            self._thread.start()

    def add(self, kind: str, app: str, event: dict[str, Any]) -> None:
        """Queue one event (``ts`` added when missing)."""
        event.setdefault("ts", time.time())
        with self._lock:
            self._buffer.append((kind, app, event))

    def _run(self) -> None:
        while not self._stop.wait(self.flush_s):
            self.flush()

    def flush(self) -> int:
        """Write what is buffered; returns how many events were written."""
        with self._lock:
            pending, self._buffer = self._buffer, []
        if not pending:
            return 0
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        groups: dict[Path, list[str]] = {}
        for kind, app, event in pending:
            path = self.folder / app / f"{kind}-{day}-{os.getpid()}.jsonl"
            groups.setdefault(path, []).append(json.dumps(event, default=str))
        for path, lines in groups.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as handle:  # append-only log; a torn last line is skipped on read
                handle.write("\n".join(lines) + "\n")
        return len(pending)

    def close(self) -> None:
        """Stop the writer and flush."""
        self._stop.set()
        self.flush()


def read_events(root: str | os.PathLike[str], app: str, kind: str) -> list[dict[str, Any]]:
    """Every recorded event of ``kind`` for ``app`` (torn lines skipped)."""
    folder = Path(root) / "monitoring" / app
    out: list[dict[str, Any]] = []
    for path in sorted(folder.glob(f"{kind}-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def score_of(answer: dict[str, Any]) -> float | None:
    """The numeric score of an answer: ``score``, ``probability`` or the top class probability."""
    for key in ("score", "probability", "fraud_probability"):
        value = answer.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    probs = answer.get("probabilities")
    if isinstance(probs, dict) and probs:
        values = [v for v in probs.values() if isinstance(v, (int, float))]
        return float(max(values)) if values else None
    return None
