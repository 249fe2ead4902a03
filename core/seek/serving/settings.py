"""What ``seek serve`` was asked for, passed to each uvicorn/gunicorn worker through one env variable."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from seek.serving.batching import BatchPolicy

ENV = "SEEK_SERVE_SETTINGS"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass
class ServeSettings:
    """Server settings: runs root, apps, batching, limits, auth, broker and logging."""

    root: str = "runs"
    apps: list[str] | None = None
    max_batch: int = 32
    max_wait_ms: float = 2.0
    batching: dict[str, list[float]] = field(default_factory=dict)  # app -> [max_batch, max_wait_ms]
    timeout_s: float = 10.0
    max_body_bytes: int = 1 << 20
    max_upload_bytes: int = 256 << 20
    read_timeout_s: float = 30.0
    auth: bool = True
    broker_url: str | None = None
    poll_s: float = 1.0
    log_format: str = "text"
    log_level: str = "INFO"
    job_ttl_s: float = 86_400.0
    job_lease_s: float = 30.0
    metrics: bool = True
    record_events: bool = True
    input_every: int = 1  # record the features of every n-th record for drift (0: none)
    drift_every_s: float = 300.0
    report_every_s: float = 86_400.0  # the daily monitoring report (0: never)

    def policy(self, app: str) -> BatchPolicy:
        """The batching policy of ``app``."""
        if app in self.batching:
            size, wait = self.batching[app]
            return BatchPolicy(int(size), float(wait))
        return BatchPolicy(self.max_batch, self.max_wait_ms)

    @property
    def root_path(self) -> Path:
        """The runs root as a path."""
        return Path(self.root)

    def to_env(self) -> str:
        """JSON for :data:`ENV`."""
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, env: Any = None) -> ServeSettings:
        """Settings from :data:`ENV` (defaults when unset)."""
        raw = (env or os.environ).get(ENV)
        return cls(**json.loads(raw)) if raw else cls()
