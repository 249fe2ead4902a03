"""A rich progress bar over optimiser steps, or nothing when progress is off."""

from __future__ import annotations

from typing import Any


class ProgressBar:
    """One bar per epoch showing steps, elapsed time and the running loss."""

    def __init__(self, enabled: bool) -> None:
        self._progress: Any = None
        self._task: Any = None
        if not enabled:
            return
        try:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        except ImportError:  # rich is optional on a bare GPU box
            return
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"),
        )
        self._progress.start()

    def start_epoch(self, epoch: int, epochs: int, total: int, done: int) -> None:
        """Begin the bar of epoch ``epoch`` (from 1) with ``done`` of ``total`` steps already taken."""
        if self._progress is not None:
            self._task = self._progress.add_task(f"epoch {epoch}/{epochs}", total=total, completed=done, info="")

    def step(self, loss: float, lr: float) -> None:
        """Advance one optimiser step."""
        if self._task is not None:
            self._progress.update(self._task, advance=1, info=f"loss {loss:.4f} lr {lr:.2e}")

    def end_epoch(self, metrics: dict[str, float]) -> None:
        """Show the epoch's validation figures on its bar."""
        if self._task is not None:
            shown = " ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k.startswith("val_"))
            self._progress.update(self._task, info=shown)
            self._task = None

    def close(self) -> None:
        """Stop drawing."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
