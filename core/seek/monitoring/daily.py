"""What a running server does for monitoring in the background: drift gauges and the daily report.

Every ``drift_every_s`` the drift of each served app's recorded inputs (the last day) against its
promoted run's training reference is published as ``seek_feature_drift_psi`` / ``_ks``; once a day
(and at start-up when today's report is missing) :func:`seek.monitoring.report.write_report` writes
``<root>/monitoring/<app>/reports/<date>/``. Under several workers only the one holding
``<root>/monitoring/.daily.lock`` writes reports, so they are not computed once per worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seek.serving.state import ServerState

logger = logging.getLogger("seek.monitoring")


@contextlib.contextmanager
def _only_one(root: Path) -> Iterator[bool]:
    """True for the one process that holds the daily lock (non-blocking)."""
    folder = root / "monitoring"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".daily.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def publish_drift(state: ServerState, app: str) -> Any:
    """Compute the app's drift over the last day and set its gauges; returns the table (None: no reference)."""
    from seek.monitoring.drift import drift_table
    from seek.monitoring.events_log import read_inputs
    from seek.monitoring.reference import load_reference

    current = state.registry.current(app)
    if current is None:
        return None
    reference = load_reference(current.run)
    if reference is None:
        return None
    inputs = read_inputs(state.settings.root, app, datetime.now(UTC) - timedelta(days=1))
    if not inputs.height:
        return None
    table = drift_table(reference, {c: inputs.get_column(c) for c in inputs.columns})
    if state.metrics is not None:
        state.metrics.drift(app, table.gauges())
    return table


def daily_reports(state: ServerState, force: bool = False) -> list[Path]:
    """Write today's report for each served app that has none yet (or all with ``force``)."""
    from seek.monitoring.report import write_report

    root = state.settings.root_path
    written: list[Path] = []
    with _only_one(root) as mine:
        if not mine:
            return written
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        for app in state.hosts:
            folder = root / "monitoring" / app / "reports" / today
            if (folder / "report.md").is_file() and not force:
                continue
            written.append(write_report(root, app).folder)
    return written


async def run(state: ServerState) -> None:
    """The background loop started by the server's lifespan (cancelled at shutdown)."""
    settings = state.settings
    loop = asyncio.get_running_loop()
    # Not at the very start: a server starting (tests, rolling restarts) is not slowed by report plots.
    next_report = loop.time() + min(60.0, settings.report_every_s)
    await asyncio.sleep(min(10.0, settings.drift_every_s))
    while True:
        now = loop.time()
        for app in list(state.hosts):
            try:
                await asyncio.to_thread(publish_drift, state, app)
            except Exception:
                logger.exception("drift of %s failed", app)
        if settings.report_every_s > 0 and now >= next_report:
            next_report = now + settings.report_every_s
            try:
                for folder in await asyncio.to_thread(daily_reports, state):
                    logger.info("monitoring report written to %s", folder, extra={"pid": os.getpid()})
            except Exception:
                logger.exception("daily monitoring report failed")
        await asyncio.sleep(settings.drift_every_s)
