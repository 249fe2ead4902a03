"""The model registry: which run folder each app serves, with version history, under the runs root.

``<root>/registry/<app>.json`` holds every promoted version (number, source run, sha256 of its
manifest, when) and the current one. Promote verifies the run's manifest first (an unverifiable run is
refused); rollback moves ``current`` back to the previous version. Files are written atomically under a
lock file, so a running server that re-reads them sees either the old or the new state, never half.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seek.errors import IntegrityError, RunError
from seek.io import atomic_write_json, sha256_file

FOLDER = "registry"


@dataclass(frozen=True)
class ModelVersion:
    """One promoted version of an app's model."""

    app: str
    version: int
    run: str
    sha256: str
    promoted: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


class Registry:
    """Promoted model versions per app, stored as one JSON file per app under ``root/registry``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.folder = self.root / FOLDER

    def _path(self, app: str) -> Path:
        if not app or "/" in app or app.startswith("."):
            raise RunError(f"registry: invalid app name {app!r}")
        return self.folder / f"{app}.json"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self, app: str) -> dict[str, Any]:
        path = self._path(app)
        if not path.is_file():
            return {"app": app, "current": None, "versions": []}
        try:
            data = json.loads(path.read_text())
        except ValueError as exc:
            raise IntegrityError(f"{path}: registry file is not valid JSON ({exc})") from None
        return dict(data)

    def apps(self) -> list[str]:
        """Apps with a registry entry."""
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.json"))

    def versions(self, app: str) -> list[ModelVersion]:
        """Every version ever promoted for ``app``, oldest first."""
        return [ModelVersion(**v) for v in self._read(app)["versions"]]

    def current(self, app: str) -> ModelVersion | None:
        """The version ``app`` serves now, or None."""
        data = self._read(app)
        for v in data["versions"]:
            if v["version"] == data["current"]:
                return ModelVersion(**v)
        return None

    def stamp(self, app: str) -> tuple[int, int] | None:
        """A cheap change marker (mtime_ns, size) of the app's registry file; None when there is none."""
        try:
            stat = self._path(app).stat()
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def promote(self, run_dir: str | os.PathLike[str], app: str | None = None) -> ModelVersion:
        """Verify ``run_dir`` and make it the next version of its app; returns the new version."""
        from seek.runs import load_run

        run = load_run(run_dir)  # refuses a run whose files do not match its manifest
        meta = run.read_json("run.json") if "run.json" in run.files else {}
        name = app or meta.get("app")
        if not name:
            raise RunError(f"{run_dir}: run.json names no app; pass --app")
        if meta.get("app") not in (None, name):
            raise RunError(f"{run_dir}: is a run of {meta.get('app')!r}, not {name!r}")
        if meta.get("status", "finished") != "finished":
            raise RunError(f"{run_dir}: run status is {meta.get('status')!r}, not finished")
        digest = sha256_file(Path(run_dir) / "manifest.json")
        with self._locked():
            data = self._read(name)
            number = max((v["version"] for v in data["versions"]), default=0) + 1
            version = ModelVersion(
                app=name,
                version=number,
                run=str(Path(run_dir).resolve()),
                sha256=digest,
                promoted=datetime.now(UTC).isoformat(timespec="seconds"),
            )
            data["versions"].append(version.as_dict())
            data["history"] = [*data.get("history", []), number]
            data["current"] = number
            atomic_write_json(self._path(name), data)
        return version

    def rollback(self, app: str) -> ModelVersion:
        """Serve the version that was current before the current one."""
        with self._locked():
            data = self._read(app)
            history = list(data.get("history", []))
            if len(history) < 2:
                raise RunError(f"registry: {app} has no earlier version to roll back to")
            history.pop()
            data["history"], data["current"] = history, history[-1]
            atomic_write_json(self._path(app), data)
        current = self.current(app)
        assert current is not None
        return current

    def verify(self, version: ModelVersion) -> None:
        """Refuse a version whose run folder changed since it was promoted."""
        path = Path(version.run) / "manifest.json"
        if not path.is_file():
            raise IntegrityError(f"registry: {version.app} v{version.version}: {version.run} has no manifest")
        if sha256_file(path) != version.sha256:
            raise IntegrityError(
                f"registry: {version.app} v{version.version}: manifest of {version.run} changed since promotion"
            )
