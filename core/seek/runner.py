"""Run an app end to end: resolve the run folder, write config, call ``App.run``, write the report, seal."""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seek.app import App, AppConfig, Report, RunContext, resolve_device
from seek.errors import ConfigError, RunError
from seek.runs import RunFolder, new_run_path

DEFAULT_ROOT_ENV = "SEEK_RUNS_DIR"


@dataclass
class RunResult:
    """A finished run: its folder and its report."""

    path: Path
    report: Report


def default_root() -> Path:
    """Where run folders go: ``$SEEK_RUNS_DIR`` or ``./runs``."""
    return Path(os.environ.get(DEFAULT_ROOT_ENV, "runs"))


def stored_config(app: App, out: str | os.PathLike[str]) -> AppConfig:
    """The config a run folder was started with (for ``--resume``)."""
    path = Path(out) / "config.json"
    if not path.is_file():
        raise RunError(f"--resume: {out} holds no config.json; it is not a run folder")
    try:
        return app.Config.model_validate(json.loads(path.read_text()))
    except ValueError as exc:
        raise ConfigError(f"{path}: stored config no longer valid for {app.name}: {exc}") from None


def execute(
    app: App,
    config: AppConfig,
    *,
    out: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] | None = None,
    device: str = "auto",
    seed: int = 0,
    resume: bool = False,
    show_progress: bool = True,
    callbacks: list[Any] | None = None,
) -> RunResult:
    """Run ``app`` with ``config`` and return where its sealed run folder is."""
    if resume and out is None:
        raise RunError("--resume needs --out DIR naming the run folder to continue")
    path = Path(out) if out is not None else new_run_path(root or default_root(), app.name)
    run = RunFolder(path, resume=resume)
    resolved_device = resolve_device(device)
    meta: dict[str, Any] = {
        "app": app.name,
        "seed": seed,
        "device": resolved_device,
        "status": "running",
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "resumed": resume,
    }
    config_dump = config.model_dump(mode="json")
    run.write_json("config.json", config_dump)
    run.write_json("run.json", meta)
    ctx = RunContext(
        run, device=resolved_device, seed=seed, resume=resume, show_progress=show_progress, callbacks=callbacks
    )
    started = time.perf_counter()
    try:
        report = app.run(config, ctx)
    except BaseException as exc:
        meta.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        run.write_json("run.json", meta)
        raise
    if not isinstance(report, Report):
        raise TypeError(f"{app.name}.run() returned {type(report).__name__}, expected seek.Report")
    meta.update(
        status="finished",
        finished=datetime.now(UTC).isoformat(timespec="seconds"),
        duration_s=round(time.perf_counter() - started, 3),
    )
    run.write_json("run.json", meta)
    run.write_report(app.name, report, config_dump)
    run.seal()
    return RunResult(path=run.path, report=report)
