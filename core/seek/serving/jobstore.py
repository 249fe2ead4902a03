"""Where async jobs live: in Redis (shared by the API and ``seek worker`` processes) or in memory.

Both stores give the same guarantees to :mod:`seek.serving.jobs`: a job is started only under a lease
(one live runner at a time; a dead runner's lease expires), its result is written at most once and
only by the lease holder while the job is still running, finished jobs expire after ``ttl_s``, and
an idempotency key maps to the job first created with it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

TERMINAL = ("succeeded", "dead", "deleted")


def now_iso() -> str:
    """UTC now, ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_job(app: str, payload: dict[str, Any], idem: str | None) -> dict[str, Any]:
    """A fresh queued job record."""
    stamp = now_iso()
    return {
        "id": uuid.uuid4().hex,
        "app": app,
        "state": "queued",
        "progress": 0.0,
        "attempts": 0,
        "created": stamp,
        "updated": stamp,
        "error": None,
        "model_version": None,
        "payload": payload,
        "idempotency_key": idem,
    }


class JobStore(Protocol):
    """What the API and the runners need from a job store."""

    ttl_s: float

    def create(self, job: dict[str, Any]) -> tuple[dict[str, Any], bool]: ...
    def get(self, job_id: str) -> dict[str, Any] | None: ...
    def result(self, job_id: str) -> list[dict[str, Any]] | None: ...
    def begin(self, job_id: str, token: str, lease_s: float) -> int | str: ...
    def renew(self, job_id: str, token: str, lease_s: float) -> None: ...
    def progress(self, job_id: str, value: float) -> None: ...
    def finish(self, job_id: str, token: str, answers: list[dict[str, Any]], version: str) -> bool: ...
    def dead(self, job_id: str, error: str) -> None: ...
    def requeue(self, job_id: str, token: str, error: str) -> None: ...
    def delete(self, job_id: str) -> bool: ...
    def recent(self, limit: int = 20) -> list[dict[str, Any]]: ...


class MemoryJobStore:
    """Jobs in this process's memory (the embedded default: no broker configured)."""

    def __init__(self, ttl_s: float = 86_400.0) -> None:
        self.ttl_s = ttl_s
        self._jobs: dict[str, dict[str, Any]] = {}
        self._results: dict[str, list[dict[str, Any]]] = {}
        self._idem: dict[str, str] = {}
        self._leases: dict[str, tuple[str, float]] = {}
        self._expires: dict[str, float] = {}
        self._lock = threading.Lock()

    def _purge(self) -> None:
        now = time.monotonic()
        for job_id in [j for j, t in self._expires.items() if t <= now]:
            self._expires.pop(job_id)
            job = self._jobs.pop(job_id, None)
            self._results.pop(job_id, None)
            if job and job.get("idempotency_key"):
                self._idem.pop(f"{job['app']}:{job['idempotency_key']}", None)

    def create(self, job: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Store ``job``, or return the job already created with its idempotency key (and False)."""
        with self._lock:
            self._purge()
            idem = job.get("idempotency_key")
            if idem:
                known = self._idem.get(f"{job['app']}:{idem}")
                if known in self._jobs:
                    return dict(self._jobs[known]), False
                self._idem[f"{job['app']}:{idem}"] = job["id"]
            self._jobs[job["id"]] = dict(job)
            return dict(job), True

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The job record, or None (unknown or expired)."""
        with self._lock:
            self._purge()
            job = self._jobs.get(job_id)
            return dict(job) if job is not None else None

    def result(self, job_id: str) -> list[dict[str, Any]] | None:
        """The stored answers of a succeeded job."""
        with self._lock:
            return self._results.get(job_id)

    def begin(self, job_id: str, token: str, lease_s: float) -> int | str:
        """Take the lease and count an attempt; returns the attempt or 'gone' / 'done' / 'busy'."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return "gone"
            if job["state"] in TERMINAL:
                return "done"
            holder = self._leases.get(job_id)
            if holder is not None and holder[1] > time.monotonic() and holder[0] != token:
                return "busy"
            self._leases[job_id] = (token, time.monotonic() + lease_s)
            job["attempts"] += 1
            job.update(state="running", updated=now_iso())
            return int(job["attempts"])

    def renew(self, job_id: str, token: str, lease_s: float) -> None:
        """Extend the lease while the job runs."""
        with self._lock:
            if self._leases.get(job_id, ("",))[0] == token:
                self._leases[job_id] = (token, time.monotonic() + lease_s)

    def progress(self, job_id: str, value: float) -> None:
        """Record progress in [0, 1]."""
        with self._lock:
            if job_id in self._jobs:
                self._jobs[job_id].update(progress=round(value, 4), updated=now_iso())

    def finish(self, job_id: str, token: str, answers: list[dict[str, Any]], version: str) -> bool:
        """Store the result once, if ``token`` still holds the lease of a running job."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job["state"] != "running" or self._leases.get(job_id, ("",))[0] != token:
                return False
            self._results[job_id] = answers
            job.update(state="succeeded", progress=1.0, updated=now_iso(), model_version=version)
            self._leases.pop(job_id, None)
            self._expires[job_id] = time.monotonic() + self.ttl_s
            return True

    def dead(self, job_id: str, error: str) -> None:
        """Move a job to the dead-letter state with its error."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job["state"] not in TERMINAL:
                job.update(state="dead", error=error, updated=now_iso())
                self._leases.pop(job_id, None)
                self._expires[job_id] = time.monotonic() + self.ttl_s

    def requeue(self, job_id: str, token: str, error: str) -> None:
        """Give the lease back after a failed attempt that will be retried."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job["state"] == "running":
                job.update(state="queued", error=error, updated=now_iso())
            if self._leases.get(job_id, ("",))[0] == token:
                self._leases.pop(job_id)

    def delete(self, job_id: str) -> bool:
        """Mark deleted and drop the result; False when unknown."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return False
            job.update(state="deleted", updated=now_iso())
            self._results.pop(job_id, None)
            self._expires[job_id] = time.monotonic() + min(self.ttl_s, 3600.0)
            return True

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest jobs first."""
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda j: j["created"], reverse=True)
            return [dict(j) for j in jobs[:limit]]


_BEGIN = """
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return 'gone' end
if st == '"succeeded"' or st == '"dead"' or st == '"deleted"' then return 'done' end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then return 'busy' end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
local n = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'state', '"running"', 'updated', ARGV[3])
return n
"""
_FINISH = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'state') ~= '"running"' then return 0 end
redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[4])
redis.call('HSET', KEYS[1], 'state', '"succeeded"', 'progress', '1.0', 'updated', ARGV[3], 'model_version', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('DEL', KEYS[2])
return 1
"""


class RedisJobStore:
    """Jobs in Redis hashes ``seek:job:<id>``; results under ``seek:job:<id>:result``; leases beside them."""

    def __init__(self, url: str, ttl_s: float = 86_400.0, prefix: str = "seek:job") -> None:
        import redis

        self.client = redis.Redis.from_url(url, decode_responses=True)
        self.ttl_s = ttl_s
        self.prefix = prefix
        self._begin = self.client.register_script(_BEGIN)
        self._finish = self.client.register_script(_FINISH)

    def _key(self, job_id: str, part: str = "") -> str:
        return f"{self.prefix}:{job_id}{':' + part if part else ''}"

    def create(self, job: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Store ``job``, or return the job already created with its idempotency key (and False)."""
        idem = job.get("idempotency_key")
        if idem:
            idem_key = f"{self.prefix}:idem:{job['app']}:{idem}"
            if not self.client.set(idem_key, job["id"], nx=True, ex=int(self.ttl_s)):
                known = self.get(str(self.client.get(idem_key)))
                if known is not None:
                    return known, False
                self.client.set(idem_key, job["id"], ex=int(self.ttl_s))
        fields: dict[Any, Any] = {k: json.dumps(v) for k, v in job.items()}
        pipe = self.client.pipeline()
        pipe.hset(self._key(job["id"]), mapping=fields)
        pipe.zadd(f"{self.prefix}:index", {job["id"]: time.time()})
        pipe.execute()
        return dict(job), True

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The job record, or None (unknown or expired)."""
        raw = self.client.hgetall(self._key(job_id))
        if not raw:
            return None
        job: dict[str, Any] = {str(k): json.loads(v) for k, v in raw.items()}
        job["progress"], job["attempts"] = float(job["progress"]), int(job["attempts"])
        return job

    def result(self, job_id: str) -> list[dict[str, Any]] | None:
        """The stored answers of a succeeded job."""
        raw = self.client.get(self._key(job_id, "result"))
        return json.loads(raw) if raw else None

    def begin(self, job_id: str, token: str, lease_s: float) -> int | str:
        """Take the lease and count an attempt; returns the attempt or 'gone' / 'done' / 'busy'."""
        out = self._begin(keys=[self._key(job_id), self._key(job_id, "lease")], args=[token, int(lease_s * 1000), _q()])
        return int(out) if isinstance(out, int) or str(out).isdigit() else str(out)

    def renew(self, job_id: str, token: str, lease_s: float) -> None:
        """Extend the lease while the job runs."""
        lease = self._key(job_id, "lease")
        if self.client.get(lease) == token:
            self.client.pexpire(lease, int(lease_s * 1000))

    def progress(self, job_id: str, value: float) -> None:
        """Record progress in [0, 1]."""
        self.client.hset(self._key(job_id), mapping={"progress": json.dumps(round(value, 4)), "updated": _q()})

    def finish(self, job_id: str, token: str, answers: list[dict[str, Any]], version: str) -> bool:
        """Store the result once, if ``token`` still holds the lease of a running job."""
        keys = [self._key(job_id), self._key(job_id, "lease"), self._key(job_id, "result")]
        args: list[Any] = [token, json.dumps(answers), _q(), int(self.ttl_s), json.dumps(version)]
        return bool(self._finish(keys=keys, args=args))

    def dead(self, job_id: str, error: str) -> None:
        """Move a job to the dead-letter state (and the dead-letter list) with its error."""
        key = self._key(job_id)
        pipe = self.client.pipeline()
        pipe.hset(key, mapping={"state": _q("dead"), "error": json.dumps(error), "updated": _q()})
        pipe.expire(key, int(self.ttl_s))
        pipe.delete(self._key(job_id, "lease"))
        pipe.lpush(f"{self.prefix}:dead", job_id)
        pipe.ltrim(f"{self.prefix}:dead", 0, 9_999)
        pipe.execute()

    def requeue(self, job_id: str, token: str, error: str) -> None:
        """Give the lease back after a failed attempt that will be retried."""
        self.client.hset(
            self._key(job_id), mapping={"state": _q("queued"), "error": json.dumps(error), "updated": _q()}
        )
        if self.client.get(self._key(job_id, "lease")) == token:
            self.client.delete(self._key(job_id, "lease"))

    def delete(self, job_id: str) -> bool:
        """Mark deleted and drop the result; False when unknown."""
        key = self._key(job_id)
        if not self.client.exists(key):
            return False
        pipe = self.client.pipeline()
        pipe.hset(key, mapping={"state": _q("deleted"), "updated": _q()})
        pipe.expire(key, int(min(self.ttl_s, 3600)))
        pipe.delete(self._key(job_id, "result"))
        pipe.execute()
        return True

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest jobs first."""
        ids = self.client.zrevrange(f"{self.prefix}:index", 0, limit - 1)
        jobs = [self.get(str(i)) for i in ids]
        return [j for j in jobs if j is not None]


def _q(value: str | None = None) -> str:
    """A JSON-quoted string field (all hash fields hold JSON)."""
    return json.dumps(value if value is not None else now_iso())
