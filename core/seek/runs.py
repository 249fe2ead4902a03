"""Run folders: one folder per run, every file written atomically, a sha256 manifest to verify."""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any

from seek.errors import IntegrityError, RunError
from seek.io import atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text, sha256_file

if TYPE_CHECKING:
    from seek.app import Report

logger = logging.getLogger(__name__)

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
        if resume:
            self.clean_temp()

    @classmethod
    def create(cls, root: str | os.PathLike[str], app_name: str) -> RunFolder:
        """Create a fresh run folder under ``root/<app>/``."""
        return cls(new_run_path(root, app_name))

    def file(self, relative: str) -> Path:
        """Absolute path of ``relative`` inside the run folder (parents created); never through a symlink."""
        target = inside(self.path, relative, error=RunError)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def clean_temp(self) -> list[Path]:
        """Delete temp files (``*.tmp``) a killed write left behind; return what was removed.

        Called when a folder is resumed and before it is sealed, so a ``.manifest.json.*.tmp`` or a
        half-written checkpoint never survives into the next attempt or the manifest.
        """
        removed = []
        for path in _walk(self.path):
            if path.name.endswith(".tmp") and not path.is_symlink() and path.is_file():
                path.unlink()
                removed.append(path)
        if removed:
            logger.info("removed %d temp file(s) left by an interrupted write in %s", len(removed), self.path)
        return removed

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
        self.clean_temp()
        refuse_symlinks(self.path)
        files = {}
        for path in sorted(_walk(self.path)):
            relative = path.relative_to(self.path).as_posix()
            if not path.is_file() or relative == MANIFEST or path.name.endswith(".tmp"):
                continue
            if any(part in _UNSEALED_DIRS for part in relative.split("/")[:-1]):
                continue
            files[relative] = {"sha256": sha256_file(path), "size": path.stat().st_size}
        manifest: dict[str, Any] = {"format": 1, "files": files}
        index = self.path / "artifacts.json"
        if "artifacts.json" in files:  # the model artifacts by role and kind (seek.artifacts), beside their hashes
            manifest["artifacts"] = json.loads(index.read_text())
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
    """A finished run folder whose manifest has been checked; reads go through it.

    Opening hashes every listed file once and refuses symlinks anywhere in the folder and manifest
    entries that leave it. Later reads (:meth:`file`, :meth:`read_json`) only compare the file's size
    and mtime_ns with what was hashed and hash again when either changed; :meth:`verify` always hashes.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        manifest_path = self.path / MANIFEST
        if not self.path.is_dir():
            raise RunError(f"{self.path}: not a run folder (no such folder)")
        refuse_symlinks(self.path)
        if not manifest_path.is_file():
            raise RunError(f"{self.path}: not a finished run folder (no {MANIFEST})")
        self.manifest = _read_manifest(manifest_path)
        self.files: dict[str, dict[str, Any]] = self.manifest["files"]
        self._hashed: dict[str, tuple[int, int]] = {}
        for relative in self.files:
            self.verify(relative)

    def verify(self, relative: str) -> Path:
        """Hash one file, check it against the manifest and return its path."""
        entry = self.files.get(relative)
        if entry is None:
            raise IntegrityError(f"{self.path / relative}: not listed in {MANIFEST}")
        path = inside(self.path, relative, error=IntegrityError)
        if not path.is_file():
            raise IntegrityError(f"{path}: listed in {MANIFEST} but missing")
        stat = path.stat()
        if stat.st_size != entry["size"] or sha256_file(path) != entry["sha256"]:
            raise IntegrityError(f"{path}: sha256 does not match {MANIFEST}; the file was changed after the run")
        self._hashed[relative] = (stat.st_size, stat.st_mtime_ns)
        return path

    def file(self, relative: str) -> Path:
        """Path of a verified file; hashed again only if its size or mtime changed since it was checked."""
        seen = self._hashed.get(relative)
        if seen is not None:
            path = inside(self.path, relative, error=IntegrityError)
            try:
                stat = path.stat()
            except FileNotFoundError:
                raise IntegrityError(f"{path}: listed in {MANIFEST} but missing") from None
            if (stat.st_size, stat.st_mtime_ns) == seen:
                return path
        return self.verify(relative)

    def read_json(self, relative: str) -> Any:
        """Read a verified JSON file."""
        return json.loads(self.file(relative).read_text())

    @property
    def config(self) -> dict[str, Any]:
        """The resolved config the run used."""
        config: dict[str, Any] = self.read_json("config.json")
        return config

    @property
    def metrics(self) -> dict[str, float]:
        """The run's metrics."""
        metrics: dict[str, float] = self.read_json("metrics.json")
        return metrics


def _read_manifest(manifest_path: Path) -> dict[str, Any]:
    """The manifest, refused with one line when it is truncated or not shaped like one."""
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{manifest_path}: unreadable manifest ({exc})") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        raise IntegrityError(f"{manifest_path}: unreadable manifest (no 'files' table)")
    for relative, entry in files.items():
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("sha256"), str)
            and isinstance(entry.get("size"), int)
            and not isinstance(entry.get("size"), bool)
        ):
            raise IntegrityError(f"{manifest_path}: entry {relative!r} needs a sha256 string and a size integer")
    checked: dict[str, Any] = manifest
    return checked


def _walk(root: Path) -> Iterator[Path]:
    """Every entry under ``root``, never descending into a symlinked folder."""
    for folder, dirs, names in os.walk(root, followlinks=False):
        base = Path(folder)
        for name in [*dirs, *names]:
            yield base / name


def refuse_symlinks(root: Path) -> None:
    """Raise IntegrityError naming the first symlink found anywhere under ``root``."""
    for path in _walk(root):
        if path.is_symlink():
            raise IntegrityError(
                f"{path}: is a symlink (to {os.readlink(path)}); run folders may only hold regular files"
            )


def inside(root: Path, relative: str, error: type[RunError] = IntegrityError) -> Path:
    """``root/relative``, refused (``error``) when it is absolute, uses ``..``, or passes through a symlink."""
    parts = PurePosixPath(relative.replace("\\", "/")).parts if isinstance(relative, str) else ()
    if not parts or relative.startswith(("/", "\\")) or PureWindowsPath(relative).drive or ".." in parts:
        raise error(f"{relative!r}: path escapes the run folder {root}")
    base = root.resolve()
    current = base
    for part in parts:
        current = current / part
        if current.is_symlink():
            raise error(f"{current}: is a symlink (to {os.readlink(current)}); run folders may only hold regular files")
    if base not in current.resolve().parents:
        raise error(f"{relative!r}: path escapes the run folder {root}")
    return current


def load_run(path: str | os.PathLike[str]) -> VerifiedRun:
    """Open a finished run folder, refusing it if any file differs from its manifest."""
    return VerifiedRun(path)
