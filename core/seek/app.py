"""The App contract every domain implements, the Report it returns and the context it runs in."""

from __future__ import annotations

import logging
import os
import random
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from seek.runs import RunFolder

T = TypeVar("T")


class AppConfig(BaseModel):
    """Base for every app's Config: unknown keys are errors and assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


@dataclass
class Figure:
    """A PNG in the run folder, shown in report.md under ``title``."""

    title: str
    path: str


@dataclass
class Report:
    """What a run returns: flat numeric metrics, Markdown sections and figures for report.md."""

    metrics: dict[str, float]
    summary: str = ""
    sections: list[tuple[str, str]] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)

    def __post_init__(self) -> None:
        for key, value in self.metrics.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"metric {key!r} must be a number, got {type(value).__name__}")
        self.metrics = {key: float(value) for key, value in self.metrics.items()}


@runtime_checkable
class Predictor(Protocol):
    """What serving calls: a batch of records in, one answer per record out."""

    def predict(self, batch: list[Mapping[str, Any]]) -> list[dict[str, Any]]: ...


class App(ABC):
    """One runnable domain application, such as ``finance-fraud``.

    Subclasses set ``name``, ``summary`` and ``Config`` (an :class:`AppConfig` whose fields carry
    defaults and descriptions) and implement :meth:`run` and :meth:`predictor`. Modules defining
    apps must stay light at import: import torch, polars and friends inside ``run``.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    Config: ClassVar[type[AppConfig]]
    #: Overrides that make a run take seconds; used by tests and ``seek.testing``.
    tiny: ClassVar[dict[str, Any]] = {}
    #: What ``seek tune`` may search: search parameter (lr, weight_decay, dropout, batch_size) -> config key.
    tunable: ClassVar[dict[str, str]] = {}
    #: The validation metric ``seek tune`` optimises (a key of the trainer's per-epoch metrics and of
    #: the report's metrics) and its direction.
    tune_metric: ClassVar[str | None] = None
    #: Search ranges this app knows better than the guide's defaults, as ``--space`` specs
    #: (``{"lr": "3e-4:5e-3"}``); the user's ``--space`` still wins.
    tune_space: ClassVar[dict[str, str]] = {}
    tune_direction: ClassVar[str] = "maximize"

    @abstractmethod
    def run(self, config: AppConfig, ctx: RunContext) -> Report:
        """Train, evaluate and return the report; artifacts go to ``ctx.run``."""

    def predictor(self, run_dir: str | os.PathLike[str]) -> Predictor:
        """Load a finished run folder and return an object with ``predict(batch)``."""
        raise NotImplementedError(f"app {self.name!r} does not serve predictions")

    def __repr__(self) -> str:
        return f"<App {self.name}>"


def seed_everything(seed: int) -> None:
    """Seed python, numpy and (if already imported or installed) torch."""
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    import numpy as np

    np.random.seed(seed % (2**32))
    try:
        import torch
    except ImportError:  # the bare core may run without torch
        return
    torch.manual_seed(seed)


def resolve_device(requested: str) -> str:
    """Turn ``cpu|cuda|auto`` into a concrete torch device string."""
    if requested == "cpu":
        return "cpu"
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        from seek.errors import ConfigError

        raise ConfigError(f"--device {requested}: CUDA is not available on this machine (use cpu or auto)")
    return requested


class RunContext:
    """What an app gets besides its config: run folder, device, seed, logger and progress bars."""

    def __init__(
        self,
        run: RunFolder,
        device: str = "cpu",
        seed: int = 0,
        resume: bool = False,
        logger: logging.Logger | None = None,
        show_progress: bool = True,
        callbacks: list[Any] | None = None,
    ) -> None:
        self.run = run
        self.device = device
        self.seed = seed
        self.resume = resume
        self.logger = logger or logging.getLogger(f"seek.run.{run.path.name}")
        self.show_progress = show_progress
        #: Extra trainer callbacks from the caller (e.g. ``seek tune``'s pruning); apps pass them to the Trainer.
        self.callbacks = list(callbacks or [])
        seed_everything(seed)

    @property
    def path(self) -> Path:
        """The run folder."""
        return self.run.path

    def progress(self, iterable: Iterable[T], total: int | None = None, description: str = "") -> Iterator[T]:
        """Iterate with a rich progress bar (silent when progress is off)."""
        if not self.show_progress:
            yield from iterable
            return
        from rich.progress import track

        yield from track(iterable, total=total, description=description, transient=True)
