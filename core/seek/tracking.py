"""Optional MLflow tracking of a run: resolved config as params, metrics per epoch and final, report and manifest.

``seek run APP --track mlflow`` (or ``SEEK_TRACKING=mlflow``) wires an :class:`MlflowTracker` into the
run three ways: as a stage listener (each stage's seconds, and the stage running as a tag), as a
trainer callback (every epoch's metrics, step = epoch; a named trainer's keys are prefixed with its
name) and as the end of the run (metrics.json as final metrics; report.md, its PNGs, config.json,
run.json, metrics.json and manifest.json as artifacts; the run ends FINISHED or FAILED).

Where it logs: ``MLFLOW_TRACKING_URI`` when set (the team's tracking server, or any MLflow store URI);
otherwise the embedded default ``./mlruns``, a local store that needs no server — an SQLite database
``mlruns/mlflow.db`` with artifacts under ``mlruns/artifacts``. (MLflow 3 refuses its older plain-file
backend unless ``MLFLOW_ALLOW_FILE_STORE=true``; with that set, ``MLFLOW_TRACKING_URI=file:./mlruns``
works too.) The experiment is the app's name unless ``MLFLOW_EXPERIMENT_NAME`` says otherwise.
mlflow is imported only when tracking is on (``pip install 'seek[mlflow]'``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seek.errors import ConfigError
from seek.training.callbacks import Callback

if TYPE_CHECKING:
    from seek.runner import RunResult

TRACKING_ENV = "SEEK_TRACKING"
TRACKERS = ("mlflow",)
#: Run-folder files logged as artifacts beside report.md's PNGs.
ARTIFACT_FILES = ("report.md", "metrics.json", "config.json", "run.json", "manifest.json")
_BATCH = 100  # MLflow's limit of params (and metrics) per log_batch request


def tracking_choice(flag: str | None) -> str | None:
    """The tracker asked for by ``--track`` or ``$SEEK_TRACKING`` (None: tracking off)."""
    value = (flag or os.environ.get(TRACKING_ENV, "")).strip().lower()
    if value in ("", "none", "off"):
        return None
    if value not in TRACKERS:
        source = "--track" if flag else f"${TRACKING_ENV}"
        raise ConfigError(f"{source} {value!r}: unknown tracker (choose from {', '.join(TRACKERS)}, or none)")
    return value


def default_tracking_uri(root: str | os.PathLike[str] = "mlruns") -> str:
    """``$MLFLOW_TRACKING_URI``, else the local embedded store under ``root`` (SQLite file, no server)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    folder = Path(root).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested config -> ``{"model.hidden_size": "64", ...}`` with JSON for lists and null."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, name + "."))
        elif isinstance(value, str):
            flat[name] = value
        else:
            flat[name] = json.dumps(value, default=str)
    return flat


class MlflowTracker(Callback):
    """One MLflow run per seek run; a stage listener and a trainer callback, finished by :meth:`finish`."""

    def __init__(self, app_name: str, tracking_uri: str | None = None, experiment: str | None = None) -> None:
        from seek.extras import command_path, require

        require("mlflow", "mlflow", needed_by=f"{command_path() or 'seek'} --track mlflow")
        from mlflow.tracking import MlflowClient

        self.uri = tracking_uri or default_tracking_uri()
        self.client = MlflowClient(tracking_uri=self.uri)
        name = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or app_name
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            self.experiment_id = found.experiment_id
        else:
            location = None
            if self.uri.startswith("sqlite:///") and "MLFLOW_TRACKING_URI" not in os.environ:
                location = (Path(self.uri.removeprefix("sqlite:///")).parent / "artifacts").as_uri()
            self.experiment_id = self.client.create_experiment(name, artifact_location=location)
        self.app_name = app_name
        self.run_id: str | None = None
        self._stage_counts: dict[str, int] = {}

    def start(self, config: Mapping[str, Any], tags: Mapping[str, Any] | None = None) -> str:
        """Open the MLflow run and log the resolved config as params; returns the MLflow run id."""
        from mlflow.entities import Param

        all_tags = {"seek.app": self.app_name, **{k: str(v) for k, v in (tags or {}).items()}}
        run = self.client.create_run(self.experiment_id, tags=all_tags, run_name=all_tags.get("mlflow.runName"))
        self.run_id = run.info.run_id
        params = [Param(key, value) for key, value in flatten(config).items()]
        for start in range(0, len(params), _BATCH):
            self.client.log_batch(self.run_id, params=params[start : start + _BATCH])
        return self.run_id

    # ---- stage listener -----------------------------------------------------------------------------

    def __call__(self, event: str, stage: str, seconds: float) -> None:
        """Record the stage running (tag ``seek.stage``) and each stage's seconds (step = occurrence)."""
        if self.run_id is None:
            return
        if event == "start":
            self.client.set_tag(self.run_id, "seek.stage", stage)
            return
        step = self._stage_counts.get(stage, 0)
        self._stage_counts[stage] = step + 1
        self.client.log_metric(self.run_id, f"stage_{stage}_s", seconds, step=step)

    # ---- trainer callback ---------------------------------------------------------------------------

    def on_epoch_end(self, trainer: Any, epoch: int, metrics: dict[str, float]) -> None:
        """Log the epoch's metrics at step ``epoch`` (main rank only under torchrun)."""
        if self.run_id is None or not getattr(getattr(trainer, "dist", None), "is_main", True):
            return
        self._log_metrics({f"{_trainer_prefix(trainer)}{key}": value for key, value in metrics.items()}, step=epoch)

    # ---- end of run ---------------------------------------------------------------------------------

    def finish(self, result: RunResult) -> None:
        """Log final metrics, the report with its plots and the manifest; end the MLflow run FINISHED."""
        if self.run_id is None:
            return
        self._log_metrics(result.report.metrics, step=0)
        self.client.set_tag(self.run_id, "seek.run_dir", str(Path(result.path).resolve()))
        self.client.set_tag(self.run_id, "seek.rows_rejected", str(result.rows_rejected))
        for name in ARTIFACT_FILES:
            path = Path(result.path) / name
            if path.is_file():
                self.client.log_artifact(self.run_id, str(path))
        for figure in result.report.figures:
            path = Path(result.path) / figure.path
            if path.is_file():
                parent = Path(figure.path).parent.as_posix()
                self.client.log_artifact(self.run_id, str(path), "plots" if parent == "." else f"plots/{parent}")
        self.client.set_terminated(self.run_id, "FINISHED")

    def fail(self, error: BaseException) -> None:
        """End the MLflow run FAILED with the error as a tag."""
        if self.run_id is None:
            return
        self.client.set_tag(self.run_id, "seek.error", f"{type(error).__name__}: {error}"[:5000])
        status = "KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED"
        self.client.set_terminated(self.run_id, status)

    def _log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        import math

        from mlflow.entities import Metric

        assert self.run_id is not None  # callers return early before start()
        now = int(time.time() * 1000)
        rows = [
            Metric(key, float(value), now, step)
            for key, value in metrics.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        ]
        for start in range(0, len(rows), _BATCH):
            self.client.log_batch(self.run_id, metrics=rows[start : start + _BATCH])


def _trainer_prefix(trainer: Any) -> str:
    """``"sequence/"`` for a trainer made with ``ctx.trainer(..., name="sequence")``; "" for the run's own."""
    run = getattr(trainer, "run", None)
    path = getattr(run, "path", None)
    if path is not None and Path(path).parent.name == "trainers":
        return f"{Path(path).name}/"
    return ""
