"""What one server process holds: settings, apps and their models, keys, rate limits, jobs, event log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from seek.serving.errors import ApiError
from seek.serving.events import EventLog
from seek.serving.hosting import ModelHost
from seek.serving.jobs import CeleryQueue, InProcessQueue, JobSettings
from seek.serving.jobstore import JobStore, MemoryJobStore, RedisJobStore
from seek.serving.keys import ApiKey, KeyStore
from seek.serving.limits import RateLimiter, retry_after
from seek.serving.registry import Registry
from seek.serving.settings import ServeSettings

if TYPE_CHECKING:
    from seek.plugins import PluginManager


@dataclass
class ServerState:
    """Everything the routes share, built once per worker process."""

    settings: ServeSettings
    manager: PluginManager
    hosts: dict[str, ModelHost]
    registry: Registry
    keys: KeyStore
    limiter: RateLimiter = field(default_factory=RateLimiter)
    store: JobStore | None = None
    queue: Any = None
    job_settings: JobSettings | None = None
    events: EventLog | None = None
    metrics: Any = None

    @classmethod
    def build(cls, settings: ServeSettings, manager: PluginManager) -> ServerState:
        """Resolve the apps to serve and wire the stores."""
        root = settings.root_path
        registry = Registry(root)
        apps = [manager.app(name) for name in settings.apps] if settings.apps else manager.apps()
        hosts = {app.name: ModelHost(app, registry, settings.policy(app.name)) for app in apps}
        job_settings = JobSettings(root=root, lease_s=settings.job_lease_s)
        store: JobStore
        if settings.broker_url:
            store = RedisJobStore(settings.broker_url, ttl_s=settings.job_ttl_s)
            queue: Any = CeleryQueue(settings.broker_url)
        else:
            store = MemoryJobStore(ttl_s=settings.job_ttl_s)
            queue = InProcessQueue(store, manager, job_settings)
        events = EventLog(root) if settings.record_events else None
        return cls(
            settings=settings,
            manager=manager,
            hosts=hosts,
            registry=registry,
            keys=KeyStore(root),
            store=store,
            queue=queue,
            job_settings=job_settings,
            events=events,
        )

    def authorize(self, token: str | None, scope: str, app: str | None) -> ApiKey | None:
        """The caller's key, checked for scope, app and rate; raises 401 / 403 / 429."""
        if not self.settings.auth:
            return None
        if not token:
            raise ApiError(401, "missing API key (Authorization: Bearer <key>)", {"WWW-Authenticate": "Bearer"})
        key = self.keys.check(token)
        if key is None:
            raise ApiError(401, "invalid or revoked API key", {"WWW-Authenticate": "Bearer"})
        wait = self.limiter.take(key.id, key.rate, key.burst)
        if wait > 0:
            raise ApiError(429, f"rate limit of {key.rate:g} requests/s exceeded", {"Retry-After": retry_after(wait)})
        if not key.allows(scope, app):
            target = f" on {app}" if app else ""
            raise ApiError(403, f"API key {key.id} has scope {key.scope} for {key.app}; needs {scope}{target}")
        return key

    def host(self, app: str) -> ModelHost:
        """The served model of ``app`` (404 when not served)."""
        if app not in self.hosts:
            raise ApiError(404, f"model {app!r} is not served here")
        return self.hosts[app]
