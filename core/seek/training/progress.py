"""A rich progress bar over optimiser steps (or nothing when progress is off), fed without host syncs."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


class AsyncScalar:
    """The latest value of a scalar device tensor that has already reached the host, without waiting for it.

    ``push`` starts a non-blocking copy into a pinned host buffer and records an event; ``latest``
    returns the newest copy whose event has completed. On a CPU the copy is immediate. A small ring
    of buffers is reused; when all are in flight (the device is far behind) a push is skipped.
    """

    def __init__(self, slots: int = 4) -> None:
        self._free: list[Any] = []
        self._busy: deque[tuple[Any, Any]] = deque()
        self._slots = slots
        self._value: float | None = None

    def push(self, value: torch.Tensor) -> None:
        """Start copying ``value`` (a 0-d tensor) to the host."""
        import torch

        if value.device.type != "cuda":
            self._value = float(value)
            return
        self._collect()
        if not self._free and len(self._busy) >= self._slots:
            return
        host = self._free.pop() if self._free else torch.empty((), dtype=torch.float64, pin_memory=True)
        host.copy_(value.detach(), non_blocking=True)
        event = torch.cuda.Event()  # type: ignore[no-untyped-call]
        event.record()
        self._busy.append((host, event))

    def _collect(self) -> None:
        while self._busy and self._busy[0][1].query():
            host, _ = self._busy.popleft()
            self._value = float(host)
            self._free.append(host)

    def latest(self) -> float | None:
        """The newest value that has arrived (None before the first one)."""
        self._collect()
        return self._value


class StepLogs(Mapping[str, float]):
    """What ``Callback.on_step_end`` receives: {"loss", "lr", "grad_norm"} read from the device only on access.

    The trainer never waits for the device at a step; a callback that reads a value pays that one sync.
    """

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __getitem__(self, key: str) -> float:
        value = self._values[key]
        if not isinstance(value, float):
            value = self._values[key] = float(value)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


class ProgressBar:
    """One bar per epoch showing steps, elapsed time and the running loss (as of the last completed step)."""

    def __init__(self, enabled: bool) -> None:
        self._progress: Any = None
        self._task: Any = None
        self._loss = AsyncScalar()
        self._shared = False
        if not enabled:
            return
        from seek.progress import active_progress

        shared = active_progress()
        if shared is not None:  # a run display is live (seek.progress): one row in it, reused each epoch
            self._progress, self._shared = shared, True
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
        if self._progress is None:
            return
        description = f"epoch {epoch}/{epochs}"
        if self._shared and self._task is not None:
            self._progress.reset(self._task, description=description, total=total, completed=done, info="")
        else:
            self._task = self._progress.add_task(description, total=total, completed=done, info="")

    def step(self, loss: torch.Tensor, lr: float) -> None:
        """Advance one optimiser step; ``loss`` (a device scalar) is shown once it has reached the host."""
        if self._task is None:
            return
        self._loss.push(loss)
        shown = self._loss.latest()
        info = f"lr {lr:.2e}" if shown is None else f"loss {shown:.4f} lr {lr:.2e}"
        self._progress.update(self._task, advance=1, info=info)

    def end_epoch(self, metrics: dict[str, float]) -> None:
        """Show the epoch's validation figures on its bar."""
        if self._task is not None:
            shown = " ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k.startswith("val_"))
            self._progress.update(self._task, info=shown)
            if not self._shared:
                self._task = None

    def close(self) -> None:
        """Stop drawing."""
        if self._progress is not None:
            if not self._shared:
                self._progress.stop()
            elif self._task is not None:
                self._progress.remove_task(self._task)
            self._progress, self._task = None, None
