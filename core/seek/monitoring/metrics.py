"""Prometheus metrics of a serving process, on ``GET /metrics`` (prometheus-client).

Under several gunicorn/uvicorn workers set ``PROMETHEUS_MULTIPROC_DIR`` (``seek serve --workers N``
does): each worker writes its samples there and ``/metrics`` merges them, so any worker answers for all.
Label values are bounded: ``route`` is the operation (``infer``, ``predict``, ``jobs``...), never a raw path.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seek.serving.state import ServerState

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SCORE_BUCKETS = tuple(i / 10 for i in range(1, 11))
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
JOB_BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)

#: Every metric name the server exports (the deploy tests check dashboards and rules against it).
NAMES = (
    "seek_request_duration_seconds",
    "seek_requests_total",
    "seek_request_errors_total",
    "seek_requests_in_flight",
    "seek_batch_size",
    "seek_batch_queue_depth",
    "seek_job_queue_depth",
    "seek_job_duration_seconds",
    "seek_model_info",
    "seek_prediction_score",
    "seek_validation_failures_total",
    "seek_feature_drift_psi",
    "seek_feature_drift_ks",
)


def route_of(path: str) -> tuple[str, str]:
    """(app, route) of a request path, with bounded values."""
    parts = path.strip("/").split("/")
    if len(parts) >= 3 and parts[:2] == ["v2", "models"]:
        return parts[2], parts[3] if len(parts) > 3 and parts[3] in ("infer", "ready", "feedback") else "metadata"
    if len(parts) == 4 and parts[:2] == ["v1", "apps"] and parts[3] == "predict":
        return parts[2], "predict"
    if parts[:2] == ["v1", "jobs"]:
        return "-", "jobs"
    if parts and parts[0] in ("metrics", "ui", "docs", "openapi.json"):
        return "-", parts[0]
    if parts[:2] == ["v2", "health"]:
        return "-", "health"
    return "-", "other"


class Metrics:
    """The server's metrics, registered once per process."""

    def __init__(self, state: ServerState) -> None:
        import prometheus_client as pc

        self.state = state
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = pc.CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.latency = pc.Histogram(
            "seek_request_duration_seconds",
            "Request latency",
            ["app", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.requests = pc.Counter("seek_requests", "Requests answered", ["app", "route", "status"], registry=reg)
        self.errors = pc.Counter(
            "seek_request_errors", "Requests answered with 4xx/5xx", ["app", "route", "status"], registry=reg
        )
        self.in_flight = pc.Gauge(
            "seek_requests_in_flight", "Requests being served", registry=reg, multiprocess_mode="livesum"
        )
        self.batch = pc.Histogram(
            "seek_batch_size", "Records per predictor call", ["app"], buckets=BATCH_BUCKETS, registry=reg
        )
        self.batch_depth = pc.Gauge(
            "seek_batch_queue_depth", "Requests waiting for a batch", ["app"], registry=reg, multiprocess_mode="livesum"
        )
        self.job_depth = pc.Gauge(
            "seek_job_queue_depth", "Jobs queued or running", registry=reg, multiprocess_mode="max"
        )
        self.job_duration = pc.Histogram(
            "seek_job_duration_seconds", "Job run time", ["app", "outcome"], buckets=JOB_BUCKETS, registry=reg
        )
        self.model_info = pc.Gauge(
            "seek_model_info",
            "Model version served (value 1)",
            ["app", "version", "sha256"],
            registry=reg,
            multiprocess_mode="max",
        )
        self.score = pc.Histogram(
            "seek_prediction_score", "Prediction scores", ["app"], buckets=SCORE_BUCKETS, registry=reg
        )
        self.invalid_total = pc.Counter(
            "seek_validation_failures", "Requests with invalid records (abnormal)", ["app", "kind"], registry=reg
        )
        self.psi = pc.Gauge(
            "seek_feature_drift_psi",
            "Population stability index vs the training reference",
            ["app", "feature"],
            registry=reg,
            multiprocess_mode="max",
        )
        self.ks = pc.Gauge(
            "seek_feature_drift_ks",
            "KS statistic vs the training reference",
            ["app", "feature"],
            registry=reg,
            multiprocess_mode="max",
        )
        self._seen_versions: dict[str, tuple[str, str]] = {}

    # -- hooks the server calls ------------------------------------------------------------------

    def observe(self, scope: dict[str, Any], status: int, seconds: float) -> None:
        """One answered request (from the ASGI layer)."""
        app, route = route_of(scope["path"])
        code = str(status)
        self.latency.labels(app, route, code).observe(seconds)
        self.requests.labels(app, route, code).inc()
        if status >= 400:
            self.errors.labels(app, route, code).inc()
        if status == 422 and route in ("infer", "predict"):
            self.invalid(app, "request")

    def invalid(self, app: str, kind: str) -> None:
        """One invalid record or request (the abnormal-request count)."""
        self.invalid_total.labels(app, kind).inc()

    def scores(self, app: str, values: list[float | None]) -> None:
        """Scores of answered records."""
        hist = self.score.labels(app)
        for value in values:
            if value is not None:
                hist.observe(value)

    def batch_observer(self, app: str) -> Callable[[int], None]:
        """A callback for the app's batcher: observes each batch size."""
        child = self.batch.labels(app)
        return child.observe

    def drift(self, app: str, table: dict[str, dict[str, float]]) -> None:
        """Publish per-feature PSI and KS."""
        for feature, row in table.items():
            self.psi.labels(app, feature).set(row["psi"])
            self.ks.labels(app, feature).set(row["ks"])

    # -- the endpoint ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Gauges read at scrape time: model versions, queue depths."""
        for name, host in self.state.hosts.items():
            self.batch_depth.labels(name).set(host.batcher.depth)
            loaded = host.loaded
            if loaded is not None:
                now = (str(loaded.version.version), loaded.version.sha256[:12])
                old = self._seen_versions.get(name)
                if old != now:
                    if old is not None:
                        self.model_info.remove(name, *old)
                    self.model_info.labels(name, *now).set(1)
                    self._seen_versions[name] = now
        if self.state.store is not None:
            jobs = self.state.store.recent(200)
            self.job_depth.set(sum(1 for j in jobs if j["state"] in ("queued", "running")))

    def render(self) -> tuple[bytes, str]:
        """The exposition text (merged over workers in multiprocess mode)."""
        import prometheus_client as pc

        self.refresh()
        if self.multiprocess:
            from prometheus_client import multiprocess

            merged = pc.CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            return pc.generate_latest(merged), pc.CONTENT_TYPE_LATEST
        return pc.generate_latest(self.registry), pc.CONTENT_TYPE_LATEST

    def mount(self, api: Any) -> None:
        """Add ``GET /metrics`` to the FastAPI app."""
        from fastapi.responses import Response

        @api.get(
            "/metrics",
            tags=["monitoring"],
            summary="Prometheus metrics",
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
            response_class=Response,
            response_model=None,
        )
        async def metrics():  # type: ignore[no-untyped-def]  # noqa: ANN202 - FastAPI evaluates annotations at runtime
            data, content_type = self.render()
            return Response(data, media_type=content_type)
