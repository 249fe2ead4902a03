"""One progress display per run: the stage running, a bar or spinner with counts where known, elapsed time.

:class:`RunProgress` is a stage listener (``RunSettings(stage_listeners=[display])``): every
``ctx.stage("features")`` becomes a row with a spinner and its elapsed time, ticked off when it ends.
Counted work inside a stage (``ctx.progress(...)``, the trainer's epoch bar, ``seek tune``'s trials)
draws into the same display through :func:`active_progress` and :func:`track`, so a run never has two
live displays fighting over the terminal.

Where the output is not a terminal, or with ``--no-progress``, there is no live display: each stage
gives one line on stderr (``stage features: 3.2 s``). With ``seek -v`` that line is the run's own INFO
log (RunContext logs every stage), so it is not printed twice; with ``seek -q`` nothing is printed.

A command that runs an app (``seek compress``, ``seek update``, ``seek medical detect`` ...) does what
``seek run`` does::

    with RunProgress(enabled=not no_progress) as display:
        result = execute(app, config, out=out, show_progress=display.live, stage_listeners=[display])

and a command without a RunContext wraps its steps in ``with display.stage("export"):`` and counts
with ``display.task("images", total=n)``. Progress goes to stderr; stdout stays for results.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")
#: The logger RunContext logs stages to; the fallback lines stay quiet when it already prints them.
STAGE_LOGGER = "seek.run"

_active: RunProgress | None = None


def active_progress() -> Any:
    """The rich ``Progress`` of the live run display, or None (trainers add their bars to it)."""
    return _active._progress if _active is not None else None


def track(iterable: Iterable[T], total: int | None = None, description: str = "") -> Iterator[T]:
    """Iterate with a bar in the live run display, or a display of its own when none is live."""
    progress = active_progress()
    if progress is None:
        from rich.progress import track as rich_track

        yield from rich_track(iterable, total=total, description=description, transient=True)
        return
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    task = progress.add_task(description, total=total, info="")
    try:
        for item in iterable:
            yield item
            progress.advance(task)
    finally:
        progress.remove_task(task)


class ProgressTask:
    """Counted work shown as a bar (``total`` known) or a count; ``done()`` ends it."""

    def __init__(self, display: RunProgress, description: str, total: int | None) -> None:
        self._display, self.description, self.total = display, description, total
        self.completed = 0
        self._started = time.perf_counter()
        self._id = display._add_row(description, total)

    def advance(self, n: int = 1, info: str = "") -> None:
        """Count ``n`` more items done (``info``: a short note shown beside the bar)."""
        self.completed += n
        if self._id is not None:
            self._display._progress.update(self._id, advance=n, info=info)

    def done(self) -> None:
        """Tick the task off (one line in fallback mode)."""
        seconds = time.perf_counter() - self._started
        if self._id is not None:
            total = self.total if self.total is not None else max(self.completed, 1)
            self._display._progress.update(self._id, total=total, completed=total)
            self._id = None
        else:
            counts = f"{self.completed}/{self.total}" if self.total is not None else f"{self.completed}"
            self._display._line(f"{self.description}: {counts} in {seconds:.1f} s")


class RunProgress:
    """The one display of a run; use as a context manager and pass it as a stage listener."""

    def __init__(self, enabled: bool = True, console: Any = None) -> None:
        """``enabled=False`` (``--no-progress``) or a console that is not a terminal gives the line fallback."""
        self._console = console
        self._enabled = enabled
        self._progress: Any = None
        self._rows: dict[str, Any] = {}
        self._started = time.perf_counter()
        self.live = False

    # ---- lifecycle ----------------------------------------------------------------------------------

    def __enter__(self) -> RunProgress:
        global _active
        self._started = time.perf_counter()
        if not self._enabled:
            return self
        from rich.console import Console

        console = self._console or Console(stderr=True)
        if not console.is_terminal or _active is not None:
            return self
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            SpinnerColumn(finished_text="[green]done"),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            _counts_column(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"),
            console=console,
        )
        self._progress.start()
        self.live = True
        _active = self
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        global _active
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if _active is self:
            _active = None
        self.live = False

    # ---- stages -------------------------------------------------------------------------------------

    def __call__(self, event: str, stage: str, seconds: float) -> None:
        """The stage listener: ``("start" | "end", stage name, seconds so far)``."""
        if event == "start":
            if stage not in self._rows:
                self._rows[stage] = self._add_row(stage, None, stage=True)
                if self._rows[stage] is None:
                    del self._rows[stage]
            return
        row = self._rows.pop(stage, None)
        # "end" also comes from the ``finally`` of a failing stage: then the error is the one line the user sees.
        failed = sys.exc_info()[0] is not None
        if row is not None:
            if failed:
                self._progress.update(row, description=f"{stage} (failed)")
                self._progress.stop_task(row)
            else:
                self._progress.update(row, total=1, completed=1)
        elif not failed and not logging.getLogger(STAGE_LOGGER).isEnabledFor(logging.INFO):
            self._line(f"stage {stage}: {seconds:.1f} s")

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Show one stage of a command that has no RunContext (``seek data``, ``seek tune``)."""
        logger = logging.getLogger(STAGE_LOGGER)
        self("start", name, 0.0)
        logger.info("stage %s: started", name)
        started = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - started
            logger.info("stage %s: %.1f s", name, seconds)
            self("end", name, seconds)

    def task(self, description: str, total: int | None = None) -> ProgressTask:
        """Counted work in this display: call ``advance()`` per item and ``done()`` at the end."""
        return ProgressTask(self, description, total)

    def line(self, text: str) -> None:
        """One line for the user: above the live display, or on stderr in fallback mode (silent with -q)."""
        if self._progress is not None:
            self._progress.console.print(text, highlight=False, markup=False)
        else:
            self._line(text)

    @property
    def elapsed(self) -> float:
        """Seconds since the display started."""
        return time.perf_counter() - self._started

    # ---- drawing ------------------------------------------------------------------------------------

    def _add_row(self, description: str, total: int | None, stage: bool = False) -> Any:
        if self._progress is None:
            return None
        return self._progress.add_task(description, total=total, info="", stage=stage)

    def _line(self, text: str) -> None:
        seek_logger = logging.getLogger("seek")
        if seek_logger.isEnabledFor(logging.WARNING):  # `seek -q` silences progress lines too
            print(text, file=sys.stderr, flush=True)


def _counts_column() -> Any:
    """A rich column showing ``done/total`` for counted rows and nothing for a stage's spinner row."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Counts(ProgressColumn):
        def render(self, task: Any) -> Text:
            if task.fields.get("stage") or (task.total is None and not task.completed):
                return Text("")
            if task.total is None:
                return Text(f"{int(task.completed):,}")
            return Text(f"{int(task.completed):,}/{int(task.total):,}")

    return Counts()
