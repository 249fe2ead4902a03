"""One run lifecycle for ``seek run``, ``seek tune`` trials, ``seek update`` and ``seek compress``.

Order, so that a folder never claims more than it holds: everything is validated before the folder
exists (config, device, data input); config.json and run.json ("running") are written first; the app
runs; rejected rows, metrics.json and report.md are written; run.json says "finished"; the manifest
is sealed last. A failure records ``status: failed`` with the stage and error in run.json. A resumed
run takes its config, seed, device and data from the folder and keeps its original start time.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seek.app import App, AppConfig, Report, resolve_device
from seek.context import RunContext, StageListener
from seek.data.spec import DataInput
from seek.errors import ConfigError, RunError, SeekError
from seek.runs import RunFolder, new_run_path

DEFAULT_ROOT_ENV = "SEEK_RUNS_DIR"


@dataclass
class RunResult:
    """A finished run: its folder, its report and the time each stage took."""

    path: Path
    report: Report
    timings: dict[str, float] = field(default_factory=dict)
    rows_rejected: int = 0


@dataclass
class RunSettings:
    """How to run an app, beside its config: where, on what device, with which seed and input."""

    out: str | os.PathLike[str] | None = None
    root: str | os.PathLike[str] | None = None
    device: str = "auto"
    seed: int = 0
    resume: bool = False
    show_progress: bool = True
    callbacks: list[Any] = field(default_factory=list)
    data: DataInput | None = None
    accept_rejects: bool = False
    stage_listeners: Sequence[StageListener] = ()


def default_root() -> Path:
    """Where run folders go: ``$SEEK_RUNS_DIR`` or ``./runs``."""
    return Path(os.environ.get(DEFAULT_ROOT_ENV, "runs"))


def stored_run(app: App[Any], out: str | os.PathLike[str]) -> tuple[AppConfig, dict[str, Any]]:
    """The config and run.json a run folder was started with (for ``--resume``)."""
    folder = Path(out)
    config_path, meta_path = folder / "config.json", folder / "run.json"
    if not config_path.is_file() or not meta_path.is_file():
        raise RunError(f"--resume: {out} holds no config.json/run.json; it is not a run folder")
    try:
        meta = json.loads(meta_path.read_text())
        config = app.Config.model_validate(json.loads(config_path.read_text()))
    except ValueError as exc:
        raise ConfigError(f"{config_path}: stored config no longer valid for {app.name}: {exc}") from None
    if meta.get("app") != app.name:
        raise RunError(f"--resume: {out} is a run of {meta.get('app')!r}, not {app.name!r}")
    if meta.get("status") == "finished" and (folder / "manifest.json").is_file():
        raise RunError(f"--resume: {out} already finished (its manifest is sealed); nothing to continue")
    return config, meta


def stored_config(app: App[Any], out: str | os.PathLike[str]) -> AppConfig:
    """The config a run folder was started with."""
    return stored_run(app, out)[0]


def config_record(app: App[Any], config: AppConfig, data: DataInput | None) -> dict[str, Any]:
    """The config as config.json records it: without the built-in-data section when a file was read."""
    dump = config.model_dump(mode="json")
    spec = app.data
    if data is not None and spec is not None and spec.builtin is not None:
        dump.pop(spec.builtin, None)
    return dump


def execute(app: App[Any], config: AppConfig, settings: RunSettings | None = None, **options: Any) -> RunResult:
    """Run ``app`` with ``config`` into a sealed run folder (``options`` are :class:`RunSettings` fields)."""
    s = settings or RunSettings(**options)
    meta: dict[str, Any]
    if s.resume:
        if s.out is None:
            raise RunError("--resume needs --out DIR naming the run folder to continue")
        _, meta = stored_run(app, s.out)
        seed, device = int(meta["seed"]), resolve_device(meta.get("device_requested", meta["device"]))
        data = DataInput.from_json(meta["input"]) if meta.get("input") else None
    else:
        seed, device, data = s.seed, resolve_device(s.device), s.data
        meta = {}
    path = Path(s.out) if s.out is not None else new_run_path(s.root or default_root(), app.name)
    run = RunFolder(path, resume=s.resume)
    run.clean_temp()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    if s.resume:
        meta.update(status="running", resumed=[*meta.get("resumed", []), now])
        meta.pop("error", None)
    else:
        meta = {
            "app": app.name,
            "seed": seed,
            "device": device,
            "device_requested": s.device,
            "status": "running",
            "started": now,
            "python": platform.python_version(),
            "input": data.to_json() if data is not None else None,
        }
    record = config_record(app, config, data)
    if not s.resume:
        run.write_json("config.json", record)
    run.write_json("run.json", meta)
    ctx = RunContext(
        run,
        device=device,
        seed=seed,
        resume=s.resume,
        show_progress=s.show_progress,
        callbacks=s.callbacks,
        data=data,
        data_spec=app.data,
        accept_rejects=s.accept_rejects,
        stage_listeners=list(s.stage_listeners),
    )
    started = time.perf_counter()
    try:
        report = app.run(config, ctx)
        if not isinstance(report, Report):
            raise TypeError(f"{app.name}.run() returned {type(report).__name__}, expected seek.Report")
        rejected = ctx.write_rejected()
        ctx.write_reference()  # drift reference for monitoring (seek.monitoring.reference)
    except BaseException as exc:
        stage = next(reversed(ctx.timings), None) if ctx.timings else None
        meta.update(status="failed", error=f"{type(exc).__name__}: {exc}", failed_after_stage=stage)
        run.write_json("run.json", meta)
        if isinstance(exc, (SeekError, KeyboardInterrupt, SystemExit)):
            raise
        source = f" on {data.path}" if data is not None else ""
        raise RunError(
            f"{app.name} failed{source} after stage {stage or 'start'}: {type(exc).__name__}: {exc}"
        ) from exc
    metrics = dict(report.metrics)
    if data is not None or ctx.rows_in:
        metrics.update(rows_in=float(ctx.rows_in), rows_rejected=float(rejected))
    metrics.update({f"time_{name}_s": round(seconds, 3) for name, seconds in ctx.timings.items()})
    report.metrics = metrics
    if ctx.timings:
        rows = "\n".join(f"| {name} | {seconds:.1f} |" for name, seconds in ctx.timings.items())
        report.sections.append(("Stage timings", f"| stage | seconds |\n|---|---|\n{rows}"))
    if rejected:
        report.sections.append(("Rejected rows", f"{rejected:,} input rows rejected; see `rejected.parquet`."))
    run.write_report(app.name, report, record)
    meta.update(
        status="finished",
        finished=datetime.now(UTC).isoformat(timespec="seconds"),
        duration_s=round(time.perf_counter() - started, 3),
    )
    run.write_json("run.json", meta)
    run.seal()
    return RunResult(path=run.path, report=report, timings=dict(ctx.timings), rows_rejected=rejected)
