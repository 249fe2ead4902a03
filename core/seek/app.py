"""The App contract every domain implements, the Report it returns and the context it runs in."""

from __future__ import annotations

import os
import random
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from seek.artifacts import ArtifactSpec
    from seek.compression.data import CompressionData
    from seek.continual.spec import ContinualSpec
    from seek.data.spec import DataSpec
    from seek.runs import VerifiedRun


class AppConfig(BaseModel):
    """Base for every app's Config (and its nested sections): unknown keys are errors, assignments validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


C = TypeVar("C", bound=AppConfig)


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


@dataclass(frozen=True)
class TuneSpec:
    """What ``seek tune`` may search in an app and what it optimises.

    ``params`` maps each search parameter to the dotted config key it sets: the guide's ``lr``,
    ``weight_decay``, ``dropout``, ``batch_size`` (default ranges known to the core) or any name of the
    app's own (``"num_leaves": "lightgbm.num_leaves"``), which then needs a range in ``space``. ``space``
    holds ``--space`` specs (``{"lr": "3e-4:5e-3", "num_leaves": "7,15,31,63", "min_child_samples":
    "10:100:int", "learning_rate": "0.02:0.2:log"}``; the user's ``--space`` still wins). Only the names in
    ``params`` are searched. ``metric`` is a key of the run's report metrics (metrics.json); with ``prune``
    the trainer must also report it every epoch, and Hyperband stops hopeless trials early; without it
    (a model the core's Trainer does not drive, or a metric known only at the end) each trial runs to the
    end and is judged on its report.
    """

    params: Mapping[str, str]
    metric: str
    direction: Literal["maximize", "minimize"] = "maximize"
    space: Mapping[str, str] = field(default_factory=dict)
    prune: bool = True


class App(ABC, Generic[C]):
    """One runnable domain application, such as ``finance-fraud``, typed by its Config ``C``.

    Subclasses set ``name``, ``summary`` and ``Config`` (an :class:`AppConfig` whose fields carry
    defaults and descriptions), implement :meth:`run` and :meth:`predictor`, and declare what the core
    needs to drive them without app-specific code: ``data`` (the :class:`~seek.data.spec.DataSpec` of
    the input it reads, or None), ``tune`` (a :class:`TuneSpec`, or None), ``artifacts`` (the model
    files it writes, by role and kind), ``headline`` (the 3-8 metrics a summary shows) and ``tiny``
    (overrides that make a run take seconds). Modules defining apps must stay light at import: import
    torch, polars and friends inside ``run``.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    Config: ClassVar[type[AppConfig]]
    #: Overrides that make a run take seconds; used by tests and ``seek.testing``.
    tiny: ClassVar[dict[str, Any]] = {}
    #: The data the app reads (schema, mapping, label, key, rules, thresholds, input kinds); None = none.
    data: ClassVar[DataSpec | None] = None
    #: What ``seek tune`` may search and the metric it optimises; None = not tunable.
    tune: ClassVar[TuneSpec | None] = None
    #: The model artifacts a run writes (role, kind); serving, compression and monitoring read them.
    artifacts: ClassVar[tuple[ArtifactSpec, ...]] = ()
    #: The metrics a run's summary shows first (keys of metrics.json).
    headline: ClassVar[tuple[str, ...]] = ()
    #: Continual-learning support for ``seek update`` (strategies, default); None = not updatable.
    continual: ClassVar[ContinualSpec | None] = None

    @abstractmethod
    def run(self, config: C, ctx: RunContext) -> Report:
        """Train, evaluate and return the report; artifacts go to ``ctx.artifacts``."""

    def predictor(self, run_dir: str | os.PathLike[str]) -> Predictor:
        """Load a finished run folder and return an object with ``predict(batch)``."""
        raise NotImplementedError(f"app {self.name!r} does not serve predictions")

    def example_records(self, run_dir: str | os.PathLike[str], n: int = 4) -> list[dict[str, Any]]:
        """A few valid input records for the predictor of ``run_dir`` (conformance tests, docs, load tests)."""
        raise NotImplementedError(f"app {self.name!r} gives no example records")

    def compression_data(self, run: VerifiedRun, role: str) -> CompressionData:
        """The train/val/test split ``run`` used for model ``role`` and the app's quality metrics (``seek compress``).

        Rebuild the split from the run's config.json and seed, so the compressed model is scored on the
        same held-out samples as the original; see :class:`seek.compression.CompressionData`.
        """
        raise NotImplementedError(f"app {self.name!r} gives no held-out data for compression")

    def update(self, config: C, ctx: RunContext, parent: VerifiedRun, strategy: str) -> Report:
        """One incremental update of ``parent``'s model on ``ctx.data`` with ``strategy`` (``seek update``).

        Apps declaring ``continual`` implement it with :mod:`seek.continual`; the core has already checked
        the parent run and the data's schema, and writes ``lineage.json`` after it returns.
        """
        raise NotImplementedError(f"app {self.name!r} cannot be updated incrementally")

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


# RunContext lives in seek.context; re-exported here because every app imports it from seek.app.
from seek.context import RunContext  # noqa: E402
