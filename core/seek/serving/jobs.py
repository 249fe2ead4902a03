"""Running async jobs: any app's predictor over posted records or an uploaded file, with progress.

One function, :func:`execute_job`, runs a job wherever it is executed: on a thread of the API process
(no broker configured) or in a ``seek worker`` Celery process. It takes the job's lease, counts the
attempt, predicts in chunks (renewing the lease and recording progress), and stores the result once.
A job whose input is bad (DataError) or that has used ``max_attempts`` goes to the dead-letter state
with its error; any other failure is retried. A job restarted after its worker died starts over, and
only one result is ever stored (``JobStore.finish`` checks the lease).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seek.errors import DataError, SeekError
from seek.serving.jobstore import JobStore
from seek.serving.limits import extract_zip, upload_kind
from seek.serving.registry import Registry

if TYPE_CHECKING:
    from seek.app import App, Predictor
    from seek.plugins import PluginManager

logger = logging.getLogger("seek.serving.jobs")
CHUNK = 64


@dataclass
class JobSettings:
    """How jobs run: lease length, attempts before the dead-letter state, where uploads are kept."""

    root: Path
    lease_s: float = 30.0
    max_attempts: int = 3
    chunk: int = CHUNK
    #: Called with (app, outcome, seconds) after each run (the server's job-duration histogram).
    on_done: Callable[[str, str, float], None] | None = None

    @property
    def uploads(self) -> Path:
        """Folder holding each job's uploaded file (shared by API and workers, like the runs root)."""
        return self.root / "serving" / "jobs"


class _Predictors:
    """Per-process cache of loaded predictors by (app, version)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int], Predictor] = {}
        self._lock = threading.Lock()

    def get(self, app: App[Any], registry: Registry) -> tuple[Predictor, str]:
        version = registry.current(app.name)
        if version is None:
            raise DataError(f"app {app.name!r} has no promoted model (seek models promote RUN_DIR)")
        key = (app.name, version.version)
        with self._lock:
            if key not in self._cache:
                registry.verify(version)
                for old in [k for k in self._cache if k[0] == app.name]:
                    del self._cache[old]
                self._cache[key] = app.predictor(version.run)
            return self._cache[key], str(version.version)


PREDICTORS = _Predictors()


def execute_job(job_id: str, store: JobStore, manager: PluginManager, settings: JobSettings) -> str:
    """Run one job; returns 'succeeded', 'dead', 'retry', 'busy' (another live runner has it) or 'skipped'."""
    token = uuid.uuid4().hex
    attempt = store.begin(job_id, token, settings.lease_s)
    if attempt in ("gone", "done"):
        return "skipped"
    if attempt == "busy":
        return "busy"
    assert isinstance(attempt, int)
    job = store.get(job_id)
    if job is None:
        return "skipped"
    if attempt > settings.max_attempts:
        store.dead(job_id, f"gave up after {settings.max_attempts} attempts (worker lost or failing)")
        return "dead"
    started = time.perf_counter()
    outcome = _execute(job_id, job, token, attempt, store, manager, settings)
    if settings.on_done is not None and outcome in ("succeeded", "dead", "retry"):
        settings.on_done(str(job["app"]), outcome, time.perf_counter() - started)
    return outcome


def _execute(
    job_id: str,
    job: Mapping[str, Any],
    token: str,
    attempt: int,
    store: JobStore,
    manager: PluginManager,
    settings: JobSettings,
) -> str:
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(store, job_id, token, settings.lease_s, stop), daemon=True)
    beat.start()
    try:
        app = manager.app(job["app"])
        predictor, version = PREDICTORS.get(app, Registry(settings.root))
        answers = _run(app, predictor, job, store, settings)
    except SeekError as exc:  # bad input or no model: retrying cannot help
        store.dead(job_id, str(exc))
        return "dead"
    except Exception as exc:  # a predictor bug or a transient failure: retried, then dead-lettered
        logger.exception("job %s attempt %d failed", job_id, attempt)
        error = f"{type(exc).__name__}: {exc}"
        if attempt >= settings.max_attempts:
            store.dead(job_id, error)
            return "dead"
        store.requeue(job_id, token, error)
        return "retry"
    finally:
        stop.set()
    if store.finish(job_id, token, answers, version):
        _cleanup(settings, job_id)
        return "succeeded"
    return "skipped"  # deleted while running, or the lease was lost to another runner


def _heartbeat(store: JobStore, job_id: str, token: str, lease_s: float, stop: threading.Event) -> None:
    while not stop.wait(lease_s / 3):
        store.renew(job_id, token, lease_s)


def _run(
    app: App[Any], predictor: Predictor, job: Mapping[str, Any], store: JobStore, settings: JobSettings
) -> list[dict[str, Any]]:
    records = job_records(app, job["payload"], settings, job["id"])
    answers: list[dict[str, Any]] = []
    for start in range(0, len(records), settings.chunk):
        chunk: list[Mapping[str, Any]] = list(records[start : start + settings.chunk])
        try:
            answers.extend(predictor.predict(chunk))
        except DataError as exc:
            raise DataError(f"records {start}..{start + len(chunk) - 1}: {exc}") from None
        store.progress(job["id"], len(answers) / len(records))
    return answers


def job_records(app: App[Any], payload: Mapping[str, Any], settings: JobSettings, job_id: str) -> list[dict[str, Any]]:
    """The predictor records of a job: posted records, rows of an uploaded table, or an uploaded study's path."""
    if "records" in payload:
        return validate_records(app, payload["records"])
    name = str(payload["file"])
    folder = settings.uploads / job_id
    path = folder / name
    kind = upload_kind(name)
    if kind == "zip":
        inputs = app.data.inputs if app.data is not None else frozenset()
        if "folder" in inputs:
            return [{"path": str(extract_zip(path, folder / "unpacked"))}]
        if "zip" in inputs:
            return [{"path": str(path)}]
        raise DataError(f"upload {name}: {app.name} does not read zip files")
    if kind == "file":
        return [{"path": str(path)}]
    return validate_records(app, read_table(path))


def read_table(path: Path) -> list[dict[str, Any]]:
    """Rows of an uploaded CSV, JSON Lines or JSON (a list of objects) file."""
    text = path.read_text(encoding="utf-8", errors="strict")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]
    try:
        if suffix == ".jsonl":
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            rows = json.loads(text)
    except ValueError as exc:
        raise DataError(f"upload {path.name}: not valid JSON ({exc})") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise DataError(f"upload {path.name}: expected a list of JSON objects")
    return rows


def validate_records(app: App[Any], rows: list[Any]) -> list[dict[str, Any]]:
    """Validate rows against the app's record model; DataError naming the first bad row and field."""
    from pydantic import ValidationError

    from seek.serving.schemas import record_model

    model = record_model(app)
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise DataError(f"row {i}: expected an object")
        try:
            out.append(model.model_validate(row, strict=False).model_dump(mode="json", exclude_unset=True))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(record)"
            raise DataError(f"row {i}: field {where}: {first['msg']}") from None
    if not out:
        raise DataError("no records to score")
    return out


def _cleanup(settings: JobSettings, job_id: str) -> None:
    shutil.rmtree(settings.uploads / job_id, ignore_errors=True)


class InProcessQueue:
    """Runs jobs on threads of the API process: the embedded default when no broker is configured."""

    def __init__(self, store: JobStore, manager: PluginManager, settings: JobSettings, threads: int = 2) -> None:
        self.store, self.manager, self.settings = store, manager, settings
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="seek-job")

    def submit(self, job_id: str) -> None:
        """Queue the job on the thread pool."""
        self.pool.submit(self._run, job_id)

    def _run(self, job_id: str) -> None:
        while execute_job(job_id, self.store, self.manager, self.settings) == "retry":
            pass

    def close(self) -> None:
        """Stop taking jobs."""
        self.pool.shutdown(wait=False, cancel_futures=True)


class CeleryQueue:
    """Sends jobs to ``seek worker`` processes through the broker."""

    def __init__(self, broker_url: str) -> None:
        from seek.serving.worker import celery_app

        self.celery = celery_app(broker_url)

    def submit(self, job_id: str) -> None:
        """Publish the job's task."""
        self.celery.send_task("seek.job", args=[job_id])

    def close(self) -> None:
        """Nothing to stop: the workers are other processes."""


def broker_url() -> str | None:
    """The broker URL from ``SEEK_BROKER_URL`` (None: jobs run in-process)."""
    return os.environ.get("SEEK_BROKER_URL") or None
