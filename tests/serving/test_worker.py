"""Celery jobs against a real redis-server and real ``seek worker`` processes: late ack and redelivery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seek.serving.jobs import CeleryQueue
from seek.serving.jobstore import RedisJobStore, new_job
from seek.serving.registry import Registry

HERE = Path(__file__).parent


def _worker(url: str, root: Path, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "SEEK_RUNS_DIR": str(root),
        "SEEK_JOB_VISIBILITY_S": "2",
        "SEEK_JOB_LEASE_S": "1.5",
        "SEEK_JOB_CHUNK": "1",
        "SEEK_TEST_SLOW_S": "0.25",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    return subprocess.Popen(
        [sys.executable, str(HERE / "slow_app.py"), url], env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT
    )


def _wait(predicate, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} within {timeout} s; worker log: {log.read_text()[-3000:]}")


@pytest.fixture
def slow_root(tmp_path: Path) -> Path:
    from serving.slow_app import sealed_run

    root = tmp_path / "runs"
    Registry(root).promote(sealed_run(root))
    return root


def test_job_survives_sigkill_of_its_worker_and_completes_exactly_once(redis_url, slow_root, tmp_path):
    store = RedisJobStore(redis_url, prefix=f"seek:job:{tmp_path.name}")
    store_default = RedisJobStore(redis_url)  # the worker uses the default prefix
    log = tmp_path / "worker.log"
    first = _worker(redis_url, slow_root, log)
    try:
        records = [{"n": i} for i in range(12)]
        job, created = store_default.create(new_job("test-slow", {"records": records}, "kill-test"))
        assert created
        CeleryQueue(redis_url).submit(job["id"])
        _wait(lambda: (store_default.get(job["id"]) or {}).get("progress", 0) >= 0.2, 40, "job started", log)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed_at = store_default.get(job["id"])
        assert killed_at["state"] == "running" and killed_at["progress"] < 1.0
        second = _worker(redis_url, slow_root, log)
        try:
            done = _wait(
                lambda: (j := store_default.get(job["id"])) and j["state"] == "succeeded" and j, 60, "job done", log
            )
        finally:
            second.terminate()
            second.wait(timeout=20)
    finally:
        if first.poll() is None:
            first.kill()
    answers = store_default.result(job["id"])
    assert [a["n"] for a in answers] == list(range(12))  # each record once, in order
    assert {a["double"] for a in answers} == {2 * i for i in range(12)}
    assert len({a["pid"] for a in answers}) == 1  # the whole result came from the run that finished
    assert answers[0]["pid"] == second.pid
    assert done["attempts"] == 2
    again, created = store_default.create(new_job("test-slow", {"records": records}, "kill-test"))
    assert not created and again["id"] == job["id"]  # the idempotency key returns the same job
    assert store.get(job["id"]) is None  # prefixes keep stores apart


def test_bad_input_goes_to_dead_letter_with_its_error(redis_url, slow_root, tmp_path):
    store = RedisJobStore(redis_url)
    log = tmp_path / "worker.log"
    worker = _worker(redis_url, slow_root, log)
    try:
        job, _ = store.create(new_job("test-slow", {"records": [{"n": 1}, {"n": "x"}]}, None))
        CeleryQueue(redis_url).submit(job["id"])
        dead = _wait(lambda: (j := store.get(job["id"])) and j["state"] == "dead" and j, 30, "job dead", log)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    assert "field 'n' must be an integer" in dead["error"]
    assert store.result(job["id"]) is None
    assert job["id"] in store.client.lrange("seek:job:dead", 0, -1)
