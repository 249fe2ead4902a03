"""``seek runs``: list, show, compare and prune past run folders (read from sealed manifests; no model loaded).

A run folder counts once its manifest is sealed: ``list``, ``compare`` and ``gc`` only look at sealed
folders and read nothing but manifest.json, run.json, config.json and metrics.json (each checked
against the manifest's recorded size); ``show`` verifies every file's sha256. Folders without a
manifest (a run still going, failed or killed) are never listed as runs and never deleted by ``gc``.
RUN is a run folder's path, its name (``20261201T085300Z-1a2b3c``) or the short id at its end.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from seek.cli import SeekGroup
from seek.cli.output import console, format_metric, format_seconds, headline_metrics, table

MANIFEST = "manifest.json"
logger = logging.getLogger(__name__)


@dataclass
class RunEntry:
    """What ``seek runs`` knows about one sealed run folder, read from its small JSON files."""

    path: Path
    app: str
    status: str
    started: str = ""
    finished: str = ""
    duration_s: float | None = None
    seed: int | None = None
    device: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    files: int = 0
    size: int = 0
    sealed_ns: int = 0  # when the manifest was written: orders runs started in the same second

    @property
    def name(self) -> str:
        """The folder's name (its id)."""
        return self.path.name

    def to_json(self, headline: tuple[str, ...] = ()) -> dict[str, Any]:
        """The entry as ``--json`` prints it."""
        keys = headline_metrics(self.metrics, headline)
        return {
            "run": self.name,
            "app": self.app,
            "path": str(self.path),
            "status": self.status,
            "started": self.started,
            "finished": self.finished,
            "duration_s": self.duration_s,
            "seed": self.seed,
            "device": self.device,
            "headline": {key: self.metrics[key] for key in keys},
            "files": self.files,
            "bytes": self.size,
        }


def _read_listed(folder: Path, manifest: dict[str, Any], name: str) -> Any:
    """A small JSON file of a sealed folder, refused when the manifest does not list it at that size."""
    from seek.errors import IntegrityError

    entry = manifest.get("files", {}).get(name)
    path = folder / name
    if entry is None:
        return None
    if path.is_symlink() or not path.is_file() or path.stat().st_size != entry.get("size"):
        raise IntegrityError(f"{path}: differs from {folder / MANIFEST} (size); `seek runs show` verifies it")
    return json.loads(path.read_text(encoding="utf-8"))


def read_entry(folder: Path) -> RunEntry:
    """The entry of one sealed run folder (RunError when it has no readable manifest)."""
    from seek.errors import IntegrityError, RunError

    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise RunError(f"{folder}: not a finished run folder (no {MANIFEST})")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{manifest_path}: unreadable manifest ({exc})") from None
    files = manifest.get("files", {}) if isinstance(manifest, dict) else {}
    meta = _read_listed(folder, manifest, "run.json") or {}
    metrics = _read_listed(folder, manifest, "metrics.json") or {}
    return RunEntry(
        path=folder,
        # A tune folder has no run.json: its parent folder names it (<app>-tune).
        app=str(meta.get("app") or folder.parent.name),
        status=str(meta.get("status", "finished")),
        started=str(meta.get("started", "")),
        finished=str(meta.get("finished", "")),
        duration_s=meta.get("duration_s"),
        seed=meta.get("seed"),
        device=str(meta.get("device", "")),
        metrics={k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)},
        files=len(files),
        size=sum(int(entry.get("size", 0)) for entry in files.values() if isinstance(entry, dict)),
        sealed_ns=manifest_path.stat().st_mtime_ns,
    )


def scan(root: Path, app: str | None = None) -> tuple[list[RunEntry], list[Path]]:
    """Sealed runs under ``root/<app>/<run>/`` (newest first) and the unsealed folders found beside them."""
    from seek.errors import RunError

    sealed: list[RunEntry] = []
    unsealed: list[Path] = []
    if not root.is_dir():
        return sealed, unsealed
    for app_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
        if app is not None and app_dir.name not in (app, f"{app}-tune"):
            continue
        for folder in sorted(p for p in app_dir.iterdir() if p.is_dir() and not p.is_symlink()):
            if not (folder / MANIFEST).is_file():
                unsealed.append(folder)
                continue
            try:
                sealed.append(read_entry(folder))
            except RunError as exc:  # one damaged folder must not hide the others; it is named, never deleted
                logger.warning("skipping %s: %s", folder, exc)
                unsealed.append(folder)
    sealed.sort(key=lambda e: (e.started or "", e.sealed_ns, e.name), reverse=True)
    return sealed, unsealed


def resolve_run(ref: str, root: Path) -> Path:
    """A run folder from a path, a folder name or the short id at the end of one."""
    from seek.errors import RunError

    given = Path(ref)
    if given.is_dir():
        return given
    candidates = [p for p in root.glob("*/*") if p.is_dir() and not p.is_symlink()] if root.is_dir() else []
    exact = [p for p in candidates if p.name == ref]
    found = exact or [p for p in candidates if p.name.endswith(f"-{ref}") or p.name.startswith(ref)]
    if not found:
        raise RunError(f"run {ref!r}: no such folder, and no run of that name under {root} (see `seek runs list`)")
    if len(found) > 1:
        names = ", ".join(str(p) for p in sorted(found)[:5])
        raise RunError(f"run {ref!r} is ambiguous under {root}: {names}{' ...' if len(found) > 5 else ''}")
    return found[0]


def _headline(app_name: str) -> tuple[str, ...]:
    """The app's declared headline metrics; () when the app is not installed here."""
    from seek.cli import current_manager
    from seek.errors import PluginError

    try:
        return tuple(current_manager().app(app_name.removesuffix("-tune")).headline)
    except PluginError:  # a run of an app not installed here: show its first metrics instead
        return ()


def _root(root: Path | None) -> Path:
    from seek.runner import default_root

    return root or default_root()


root_option = click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), help="Runs folder (default $SEEK_RUNS_DIR or ./runs)."
)


@click.group("runs", cls=SeekGroup)
def command() -> None:
    """List, inspect, compare and prune past runs (sealed run folders only; no model is loaded)."""


@command.command("list")
@click.argument("app", required=False)
@root_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_runs(app: str | None, root: Path | None, as_json: bool) -> None:
    """List sealed runs (newest first), optionally of one APP, with their headline metrics."""
    runs_root = _root(root)
    entries, unsealed = scan(runs_root, app)
    headlines = {e.app: _headline(e.app) for e in entries}
    if as_json:
        click.echo(json.dumps([e.to_json(headlines[e.app]) for e in entries], indent=2))
        return
    rows = []
    for e in entries:
        keys = headline_metrics(e.metrics, headlines[e.app])
        shown = ", ".join(f"{key} {format_metric(e.metrics[key])}" for key in keys)
        duration = "" if e.duration_s is None else format_seconds(float(e.duration_s))
        rows.append((e.name, e.app, e.started[:16].replace("T", " "), duration, shown))
    out = console()
    columns = ["run", "app", "started (UTC)", "duration", "headline metrics"]
    out.print(table(f"runs in {runs_root}", columns, rows, no_wrap=columns[:3]))
    if unsealed:
        out.print(f"{len(unsealed)} unsealed folder(s) (running, failed or killed) not listed")


@command.command("show")
@click.argument("run")
@root_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(run: str, root: Path | None, as_json: bool) -> None:
    """Show RUN: status, duration, manifest verified or not, headline metrics and config."""
    from seek.errors import IntegrityError, RunError
    from seek.runs import load_run
    from seek.tracking import flatten

    folder = resolve_run(run, _root(root))
    entry = read_entry(folder)
    try:
        load_run(folder)
        verified, problem = True, ""
    except IntegrityError as exc:  # shown, not raised: saying which file changed is what `show` is for
        verified, problem = False, str(exc)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    config = _read_listed(folder, manifest, "config.json") if verified else _read_unchecked(folder, "config.json")
    if config is None:
        raise RunError(f"{folder}: no config.json listed in its manifest")
    headline = _headline(entry.app)
    artifacts = manifest.get("artifacts") or {}
    if as_json:
        record = entry.to_json(headline)
        record.update(verified=verified, problem=problem, metrics=entry.metrics, config=config, artifacts=artifacts)
        click.echo(json.dumps(record, indent=2, default=str))
        return
    duration = "" if entry.duration_s is None else format_seconds(float(entry.duration_s))
    lines = [
        f"run: {folder}",
        f"app: {entry.app}   status: {entry.status}   duration: {duration or '-'}",
        f"started: {entry.started or '-'}   finished: {entry.finished or '-'}   "
        f"seed: {entry.seed}   device: {entry.device or '-'}",
        f"manifest: {'verified' if verified else 'NOT VERIFIED'} ({entry.files} files, {_size(entry.size)})"
        + (f": {problem}" if problem else ""),
        "headline metrics:",
    ]
    keys = headline_metrics(entry.metrics, headline)
    width = max((len(k) for k in keys), default=0)
    lines += [f"  {key:<{width}}  {format_metric(entry.metrics[key])}" for key in keys]
    flat = flatten(config)
    width = max((len(k) for k in flat), default=0)
    lines.append("config:")
    lines += [f"  {key:<{width}}  {value}" for key, value in flat.items()]
    if isinstance(artifacts, dict) and artifacts:
        lines.append("artifacts: " + ", ".join(sorted(str(k) for k in artifacts)))
    click.echo("\n".join(lines))


def _read_unchecked(folder: Path, name: str) -> Any:
    path = folder / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() and not path.is_symlink() else None


@command.command("compare")
@click.argument("runs", nargs=-1, required=True)
@root_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def compare(runs: tuple[str, ...], root: Path | None, as_json: bool) -> None:
    """Compare RUNS: the config keys that differ and every metric side by side, with deltas vs the first."""
    from seek.errors import ConfigError
    from seek.tracking import flatten

    if len(runs) < 2:
        raise ConfigError("seek runs compare needs at least two runs")
    runs_root = _root(root)
    entries, configs = [], []
    for ref in runs:
        folder = resolve_run(ref, runs_root)
        entry = read_entry(folder)
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        entries.append(entry)
        configs.append(flatten(_read_listed(folder, manifest, "config.json") or {}))
    config_keys = sorted({key for flat in configs for key in flat})
    differ = {
        key: [flat.get(key) for flat in configs] for key in config_keys if len({flat.get(key) for flat in configs}) > 1
    }
    headline = _headline(entries[0].app)
    metric_keys = list(dict.fromkeys(key for e in entries for key in e.metrics))
    first = [k for k in headline if k in metric_keys]
    metric_keys = first + [k for k in metric_keys if k not in first]
    metrics: dict[str, dict[str, list[float | None]]] = {}
    for key in metric_keys:
        values = [e.metrics.get(key) for e in entries]
        base = values[0]
        deltas = [None if i == 0 or v is None or base is None else v - base for i, v in enumerate(values)]
        metrics[key] = {"values": values, "delta": deltas}
    if as_json:
        record: dict[str, Any] = {"runs": [str(e.path) for e in entries], "apps": [e.app for e in entries]}
        record.update(config=differ, metrics=metrics)
        click.echo(json.dumps(record, indent=2, default=str))
        return
    names = [e.name for e in entries]
    out = console()
    if differ:
        out.print(table("config differences", ["key", *names], ([k, *map(_cell, v)] for k, v in differ.items())))
    else:
        out.print("config: identical")
    rows = []
    for key, item in metrics.items():
        cells = []
        for i, (value, delta) in enumerate(zip(item["values"], item["delta"], strict=True)):
            text = "-" if value is None else format_metric(value)
            if i and delta is not None:
                text += f" ({'+' if delta >= 0 else ''}{format_metric(delta)})"
            cells.append(text)
        rows.append((key, *cells))
    out.print(table("metrics (delta vs the first run)", ["metric", *names], rows))


def _cell(value: str | None) -> str:
    return "-" if value is None else value


def _size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size} B"


@command.command("gc")
@click.option("--keep", type=click.IntRange(min=0), required=True, help="Sealed runs to keep per app (newest).")
@click.argument("app", required=False)
@root_option
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
def gc(keep: int, app: str | None, root: Path | None, dry_run: bool) -> None:
    """Delete all but the newest --keep sealed runs of each app (or of APP); unsealed folders are left alone."""
    runs_root = _root(root)
    entries, unsealed = scan(runs_root, app)
    by_app: dict[Path, list[RunEntry]] = {}
    for entry in entries:  # grouped by the folder they live in, newest first
        by_app.setdefault(entry.path.parent, []).append(entry)
    doomed = [entry for group in by_app.values() for entry in group[keep:]]
    verb = "would remove" if dry_run else "removed"
    for entry in doomed:
        if not dry_run:
            shutil.rmtree(entry.path)
        click.echo(f"{verb} {entry.path} ({_size(entry.size)})")
    freed = sum(entry.size for entry in doomed)
    note = f"; {len(unsealed)} unsealed folder(s) left alone" if unsealed else ""
    click.echo(f"{verb} {len(doomed)} run folder(s), {_size(freed)}; kept up to {keep} per app{note}")
