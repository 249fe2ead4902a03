"""The Celery side of async jobs: the app ``seek worker`` runs, with late acks and redelivery.

Messages are acknowledged only after the job ran (``acks_late``), so a worker killed mid-job leaves its
message unacknowledged; Redis hands it to another worker after ``SEEK_JOB_VISIBILITY_S`` seconds and
:func:`seek.serving.jobs.execute_job` starts the job over under a new lease. A job whose lease is still
held by a live worker (``busy``) is re-sent later rather than dropped.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from seek.serving.jobs import JobSettings, execute_job
from seek.serving.jobstore import RedisJobStore

VISIBILITY_ENV = "SEEK_JOB_VISIBILITY_S"
LEASE_ENV = "SEEK_JOB_LEASE_S"


def _seconds(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@cache
def celery_app(broker_url: str) -> Any:
    """The Celery app for ``broker_url`` (one per URL and process)."""
    from celery import Celery

    visibility = _seconds(VISIBILITY_ENV, 3600.0)
    app = Celery("seek", broker=broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,  # the job store keeps results, with their TTL
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": visibility,
            "unacked_restore_interval": max(1, int(min(10.0, visibility / 2))),
            "unacked_restore_throttle": 1,
        },
        worker_hijack_root_logger=False,
    )

    @app.task(name="seek.job", bind=True, max_retries=None)  # type: ignore[untyped-decorator]  # attempts: job store
    def run_job(task: Any, job_id: str) -> str:
        outcome = execute_job(job_id, _store(broker_url), _manager(), _settings())
        if outcome in ("retry", "busy"):
            raise task.retry(countdown=1 if outcome == "retry" else _seconds(LEASE_ENV, 30.0) / 2)
        return outcome

    return app


@cache
def _store(url: str) -> RedisJobStore:
    return RedisJobStore(url, ttl_s=_seconds("SEEK_JOB_TTL_S", 86_400.0))


def _manager() -> Any:
    from seek.plugins import get_manager

    return get_manager()


def _settings() -> JobSettings:
    from seek.runner import default_root

    return JobSettings(
        root=default_root(), lease_s=_seconds(LEASE_ENV, 30.0), chunk=int(os.environ.get("SEEK_JOB_CHUNK", "64"))
    )


def run_worker(broker_url: str, concurrency: int = 1, queues: str = "celery", loglevel: str = "INFO") -> None:
    """Start a Celery worker in this process (solo pool for one job at a time, prefork for more)."""
    app = celery_app(broker_url)
    pool = "solo" if concurrency == 1 else "prefork"
    argv = ["worker", f"--pool={pool}", f"--concurrency={concurrency}", f"--queues={queues}", f"--loglevel={loglevel}"]
    argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    app.worker_main(argv)
