"""The FastAPI app factory behind ``seek serve``: one HTTP API for every installed app.

``create_app(settings)`` builds the app for one worker process; ``factory()`` does the same from the
``SEEK_SERVE_SETTINGS`` environment variable, for ``uvicorn --factory`` and gunicorn workers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from seek import __version__
from seek.serving import errors
from seek.serving.hosting import watch
from seek.serving.logs import configure
from seek.serving.middleware import RequestLayer
from seek.serving.settings import ServeSettings
from seek.serving.state import ServerState

if TYPE_CHECKING:
    from seek.plugins import PluginManager


def create_app(settings: ServeSettings, manager: PluginManager | None = None) -> Any:
    """Build the ASGI app serving ``settings.apps`` (every installed app by default)."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel

    from seek.monitoring import daily
    from seek.monitoring.events_log import request_recorder
    from seek.plugins import get_manager
    from seek.serving.routes_jobs import jobs_router
    from seek.serving.routes_models import app_router

    state = ServerState.build(settings, manager or get_manager())
    if settings.metrics:
        from seek.monitoring.metrics import Metrics

        state.metrics = Metrics(state)
        if state.job_settings is not None:
            histogram = state.metrics.job_duration
            state.job_settings.on_done = lambda app, outcome, s: histogram.labels(app, outcome).observe(s)

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        for host in state.hosts.values():
            await asyncio.to_thread(host.refresh)
            if state.metrics is not None:
                host.batcher.on_batch = state.metrics.batch_observer(host.app.name)
        if state.events is not None:
            state.events.start()
        watcher = asyncio.create_task(watch(state.hosts, settings.poll_s))
        monitor = asyncio.create_task(daily.run(state)) if settings.record_events else None
        try:
            yield
        finally:
            watcher.cancel()
            if monitor is not None:
                monitor.cancel()
            for host in state.hosts.values():
                host.batcher.close()
            if state.events is not None:
                state.events.close()
            state.queue.close()

    api = FastAPI(
        title="Seek serving API",
        version=__version__,
        description="Open Inference Protocol v2 for every installed Seek app, a JSON route per app, async jobs.",
        lifespan=lifespan,
    )
    api.state.seek = state
    errors.install(api)

    class Live(BaseModel):
        """Liveness."""

        live: bool

    class Ready(BaseModel):
        """Readiness: every served app with a promoted version has it loaded."""

        ready: bool

    class ServerMeta(BaseModel):
        """``GET /v2``."""

        name: str
        version: str
        extensions: list[str]

    class ModelIndexEntry(BaseModel):
        """One served app in ``GET /v2/models``."""

        name: str
        version: str | None
        ready: bool
        error: str | None = None

    @api.get("/v2/health/live", response_model=Live, tags=["health"], summary="the process answers")
    async def live() -> Any:
        return {"live": True}

    @api.get(
        "/v2/health/ready",
        response_model=Ready,
        responses={503: {"model": Ready, "description": "a promoted model is not loaded yet"}},
        tags=["health"],
        summary="every promoted model is loaded",
    )
    async def ready() -> Any:
        promoted = [h for h in state.hosts.values() if state.registry.current(h.app.name) is not None]
        ok = bool(promoted) and all(h.ready for h in promoted)
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    @api.get("/v2", response_model=ServerMeta, tags=["health"], summary="server metadata")
    async def server_meta() -> Any:
        return {"name": "seek", "version": __version__, "extensions": ["jobs", "feedback", "json-predict"]}

    @api.get("/v2/models", response_model=list[ModelIndexEntry], tags=["health"], summary="served models")
    async def models() -> Any:
        return [
            {
                "name": name,
                "version": str(h.loaded.version.version) if h.loaded else None,
                "ready": h.ready,
                "error": errors.scrub(h.error) if h.error else None,
            }
            for name, h in state.hosts.items()
        ]

    for host in state.hosts.values():
        api.include_router(app_router(state, host))
    api.include_router(jobs_router(state))
    if state.metrics is not None:
        state.metrics.mount(api)
    from seek.monitoring import ui

    ui.mount(api, state)
    observe = request_recorder(state.events, state.metrics.observe if state.metrics is not None else None)
    return RequestLayer(
        api,
        max_body=settings.max_body_bytes,
        max_upload=settings.max_upload_bytes,
        read_timeout_s=settings.read_timeout_s,
        observe=observe,
        in_flight=state.metrics.in_flight if state.metrics is not None else None,
    )


def factory() -> Any:
    """``uvicorn --factory seek.serving.server:factory``: the app from ``SEEK_SERVE_SETTINGS``."""
    settings = ServeSettings.from_env()
    configure(settings.log_format, settings.log_level)
    return create_app(settings)
