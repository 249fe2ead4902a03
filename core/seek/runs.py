"""Run folders: one folder per run, every file written atomically, a sha256 manifest to verify."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seek.errors import IntegrityError, RunError
from seek.io import atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text, sha256_file

if TYPE_CHECKING:
    from seek.app import Report

MANIFEST = "manifest.json"
# Files that change while a run is resumable are not part of the sealed manifest.
_UNSEALED_DIRS = ("checkpoints",)


def new_run_path(root: str | os.PathLike[str], app_name: str) -> Path:
    """Return ``root/<app>/<UTC timestamp>-<short id>`` (not yet created)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(root) / app_name / f"{stamp}-{secrets.token_hex(3)}"


class RunFolder:
    """A run folder being written; every write is atomic and ``seal`` writes the manifest."""

    def __init__(self, path: str | os.PathLike[str], resume: bool = False) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise RunError(f"--out {self.path}: is a file, not a folder")
        if not resume and self.path.exists() and any(self.path.iterdir()):
            raise RunError(
                f"--out {self.path}: folder is not empty (pick a new folder, or pass --resume to continue it)"
            )
        if resume and not self.path.is_dir():
            raise RunError(f"--resume: {self.path} does not exist")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"--out {self.path}: cannot create folder ({exc.strerror})") from exc

    @classmethod
    def create(cls, root: str | os.PathLike[str], app_name: str) -> RunFolder:
        """Create a fresh run folder under ``root/<app>/``."""
        return cls(new_run_path(root, app_name))

    def file(self, relative: str) -> Path:
        """Absolute path of ``relative`` inside the run folder (parents created)."""
        target = (self.path / relative).resolve()
        if self.path.resolve() not in target.parents:
            raise RunError(f"{relative}: path escapes the run folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    @contextmanager
    def writing(self, relative: str) -> Iterator[Path]:
        """Yield a temp path to write ``relative`` through; it is renamed into place on success."""
        with atomic_path(self.file(relative)) as tmp:
            yield tmp

    def write_bytes(self, relative: str, data: bytes) -> Path:
        """Write raw bytes atomically."""
        return atomic_write_bytes(self.file(relative), data)

    def write_text(self, relative: str, text: str) -> Path:
        """Write UTF-8 text atomically."""
        return atomic_write_text(self.file(relative), text)

    def write_json(self, relative: str, obj: Any) -> Path:
        """Write JSON atomically."""
        return atomic_write_json(self.file(relative), obj)

    def save_figure(self, figure: Any, relative: str, dpi: int = 110) -> Path:
        """Save a matplotlib figure as PNG atomically and close it."""
        import matplotlib.pyplot as plt

        with self.writing(relative) as tmp:
            figure.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
        plt.close(figure)
        return self.path / relative

    def write_report(self, app_name: str, report: Report, config: dict[str, Any]) -> None:
        """Write metrics.json and report.md from a Report."""
        self.write_json("metrics.json", report.metrics)
        self.write_text("report.md", render_report(app_name, report, config))

    def seal(self) -> dict[str, Any]:
        """Hash every file (checkpoints aside) into manifest.json and return the manifest."""
        files = {}
        for path in sorted(self.path.rglob("*")):
            relative = path.relative_to(self.path).as_posix()
            if not path.is_file() or relative == MANIFEST or path.name.endswith(".tmp"):
                continue
            if relative.split("/", 1)[0] in _UNSEALED_DIRS:
                continue
            files[relative] = {"sha256": sha256_file(path), "size": path.stat().st_size}
        manifest = {"format": 1, "files": files}
        self.write_json(MANIFEST, manifest)
        return manifest


def render_report(app_name: str, report: Report, config: dict[str, Any]) -> str:
    """Render report.md: summary, metrics table, sections, figures, config."""
    lines = [f"# {app_name} — run report", ""]
    if report.summary:
        lines += [report.summary, ""]
    lines += ["## Metrics", "", "| metric | value |", "|---|---|"]
    lines += [f"| `{key}` | {value:.6g} |" for key, value in report.metrics.items()]
    lines.append("")
    for title, body in report.sections:
        lines += [f"## {title}", "", body.rstrip(), ""]
    if report.figures:
        lines += ["## Figures", ""]
        for fig in report.figures:
            lines += [f"### {fig.title}", "", f"![{fig.title}]({fig.path})", ""]
    lines += ["## Configuration", "", "```json", json.dumps(config, indent=2, sort_keys=True, default=str), "```", ""]
    return "\n".join(lines)


class VerifiedRun:
    """A finished run folder whose manifest has been checked; reads go through it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        manifest_path = self.path / MANIFEST
        if not manifest_path.is_file():
            raise RunError(f"{self.path}: not a finished run folder (no {MANIFEST})")
        try:
            self.manifest = json.loads(manifest_path.read_text())
            self.files: dict[str, dict[str, Any]] = self.manifest["files"]
        except (ValueError, KeyError) as exc:
            raise IntegrityError(f"{manifest_path}: unreadable manifest ({exc})") from exc
        for relative in self.files:
            self.verify(relative)

    def verify(self, relative: str) -> Path:
        """Check one file against the manifest and return its path."""
        entry = self.files.get(relative)
        path = self.path / relative
        if entry is None:
            raise IntegrityError(f"{path}: not listed in {MANIFEST}")
        if not path.is_file():
            raise IntegrityError(f"{path}: listed in {MANIFEST} but missing")
        if path.stat().st_size != entry["size"] or sha256_file(path) != entry["sha256"]:
            raise IntegrityError(f"{path}: sha256 does not match {MANIFEST}; the file was changed after the run")
        return path

    def file(self, relative: str) -> Path:
        """Path of a verified file (checked again, in case it changed since loading)."""
        return self.verify(relative)

    def read_json(self, relative: str) -> Any:
        """Read a verified JSON file."""
        return json.loads(self.verify(relative).read_text())

    @property
    def config(self) -> dict[str, Any]:
        """The resolved config the run used."""
        return self.read_json("config.json")

    @property
    def metrics(self) -> dict[str, float]:
        """The run's metrics."""
        return self.read_json("metrics.json")


def load_run(path: str | os.PathLike[str]) -> VerifiedRun:
    """Open a finished run folder, refusing it if any file differs from its manifest."""
    return VerifiedRun(path)
