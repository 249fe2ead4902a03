"""Job stores, in memory and in a real Redis: the same lease, once-only result, idempotency and TTL."""

from __future__ import annotations

import time
import uuid

import pytest

from seek.serving.jobstore import MemoryJobStore, RedisJobStore, new_job


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        return MemoryJobStore(ttl_s=1)
    url = request.getfixturevalue("redis_url")
    return RedisJobStore(url, ttl_s=1, prefix=f"test:{uuid.uuid4().hex[:8]}")


def test_idempotency_key_returns_the_first_job(store):
    first, created = store.create(new_job("a", {"records": [{}]}, "k1"))
    again, created_again = store.create(new_job("a", {"records": [{}]}, "k1"))
    other, created_other = store.create(new_job("b", {"records": [{}]}, "k1"))
    assert created and not created_again and created_other
    assert again["id"] == first["id"] and other["id"] != first["id"]


def test_only_the_lease_holder_runs_and_the_result_is_stored_once(store):
    job, _ = store.create(new_job("a", {"records": [{}]}, None))
    assert store.begin(job["id"], "w1", lease_s=5) == 1
    assert store.begin(job["id"], "w2", lease_s=5) == "busy"
    assert not store.finish(job["id"], "w2", [{"x": 2}], "1")
    assert store.finish(job["id"], "w1", [{"x": 1}], "1")
    assert not store.finish(job["id"], "w1", [{"x": 1}, {"x": 1}], "1")
    assert store.result(job["id"]) == [{"x": 1}]
    assert store.begin(job["id"], "w3", lease_s=5) == "done"
    assert store.get(job["id"])["state"] == "succeeded"


def test_an_expired_lease_lets_another_runner_take_over(store):
    job, _ = store.create(new_job("a", {"records": [{}]}, None))
    assert store.begin(job["id"], "dead-worker", lease_s=0.2) == 1
    time.sleep(0.35)
    assert store.begin(job["id"], "w2", lease_s=5) == 2
    assert store.get(job["id"])["attempts"] == 2


def test_results_expire_after_the_ttl(store):
    job, _ = store.create(new_job("a", {"records": [{}]}, None))
    store.begin(job["id"], "w", lease_s=5)
    store.finish(job["id"], "w", [{"x": 1}], "1")
    assert store.result(job["id"]) == [{"x": 1}]
    time.sleep(1.3)
    assert store.get(job["id"]) is None and store.result(job["id"]) is None


def test_dead_letter_keeps_the_error_and_deleted_jobs_drop_results(store):
    job, _ = store.create(new_job("a", {"records": [{}]}, None))
    store.dead(job["id"], "row 3: field x: bad")
    assert store.get(job["id"])["state"] == "dead" and store.get(job["id"])["error"] == "row 3: field x: bad"
    other, _ = store.create(new_job("a", {"records": [{}]}, None))
    store.begin(other["id"], "w", 5)
    assert store.delete(other["id"])
    assert not store.finish(other["id"], "w", [{"x": 1}], "1")  # deleted while running: result discarded
    assert store.get(other["id"])["state"] == "deleted" and store.result(other["id"]) is None
