"""``GET /ui``: one server-rendered HTML page (no build step, no script, nothing fetched from the internet).

It shows the served apps and their promoted versions, live latency quantiles and request rate (from
this process's metrics), recent jobs with their state, and each app's latest monitoring report:
the evaluation matrix, the drift table and the report's PNG plots (served from ``/ui/reports``).
The page refreshes itself every 10 s. With API keys on, a caller from another host needs an admin key.
Only the server imports this module (it needs FastAPI at import time for its route annotations).
"""

from __future__ import annotations

import html
import json
import re
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request  # only the server imports this module; FastAPI resolves these names
from fastapi.responses import FileResponse, HTMLResponse

from seek.serving.errors import ApiError

if TYPE_CHECKING:
    from seek.serving.state import ServerState

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PLOT = re.compile(r"^[a-z_]{1,40}\.png$")
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1b1f24;background:#fafbfc}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #d0d7de;padding:4px 10px;text-align:left}th{background:#eef1f4}
.ok{color:#1a7f37}.bad{color:#cf222e}.muted{color:#57606a}img{max-width:480px;margin:4px;border:1px solid #d0d7de}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _table(headers: list[str], rows: list[list[Any]], raw: bool = False) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c if raw else _e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def latest_report(root: Path, app: str) -> Path | None:
    """The newest report folder of ``app`` (None when none was written)."""
    folder = root / "monitoring" / app / "reports"
    days = sorted(p for p in folder.glob("*") if p.is_dir() and _DATE.match(p.name)) if folder.is_dir() else []
    return days[-1] if days else None


class Traffic:
    """Request rate over the last minute from snapshots of the request counter taken at each render."""

    def __init__(self) -> None:
        self.snapshots: deque[tuple[float, float]] = deque(maxlen=120)

    def rate(self, total: float) -> float | None:
        now = time.monotonic()
        self.snapshots.append((now, total))
        while len(self.snapshots) > 2 and now - self.snapshots[0][0] > 60:
            self.snapshots.popleft()
        first_t, first_n = self.snapshots[0]
        return (total - first_n) / (now - first_t) if now - first_t >= 1 else None


def _quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """A histogram quantile from cumulative (upper bound, count) buckets, interpolated as Prometheus does."""
    if not buckets or buckets[-1][1] == 0:
        return None
    target = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= target:
            if bound == float("inf"):
                return lower_bound
            share = (target - lower_count) / (count - lower_count) if count > lower_count else 0.0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return None


def live_latency(state: ServerState) -> dict[str, dict[str, Any]]:
    """Per app: requests so far and p50/p95/p99 latency (seconds) of its model routes, from this process."""
    out: dict[str, dict[str, Any]] = {}
    if state.metrics is None:
        return out
    per_app: dict[str, dict[float, float]] = {}
    for family in state.metrics.registry.collect():
        if family.name != "seek_request_duration_seconds":
            continue
        for sample in family.samples:
            app = sample.labels.get("app", "-")
            if app == "-" or sample.labels.get("route") not in ("infer", "predict"):
                continue
            if sample.name.endswith("_bucket"):
                bound = float(sample.labels["le"])
                per_app.setdefault(app, {})
                per_app[app][bound] = per_app[app].get(bound, 0.0) + sample.value
    for app, raw in per_app.items():
        buckets = sorted(raw.items())
        out[app] = {"requests": buckets[-1][1] if buckets else 0.0}
        for q in (0.5, 0.95, 0.99):
            out[app][f"p{round(q * 100)}"] = _quantile(buckets, q)
    return out


def render(state: ServerState, traffic: Traffic) -> str:
    """The whole page."""
    root = state.settings.root_path
    latency = live_latency(state)
    total = sum(v["requests"] for v in latency.values())
    rate = traffic.rate(total)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Seek serving</title>",
        "<meta http-equiv='refresh' content='10'><link rel='icon' href='data:,'>",
        f"<style>{_CSS}</style></head><body><h1>Seek serving</h1>",
        f"<p class='muted'>runs root {_e(root.name)} · request rate (last minute, this worker): "
        f"{'n/a' if rate is None else f'{rate:.1f}/s'}</p>",
        "<h2>Models</h2>",
    ]
    rows = []
    for name, host in state.hosts.items():
        loaded = host.loaded
        lat = latency.get(name, {})
        ms = [f"{lat[k] * 1000:.1f}" if lat.get(k) is not None else "-" for k in ("p50", "p95", "p99")]
        status = "<span class='ok'>ready</span>" if loaded else "<span class='bad'>not ready</span>"
        rows.append(
            [_e(name), f"v{loaded.version.version}" if loaded else "-",
             _e(loaded.version.sha256[:12]) if loaded else "-", status, f"{lat.get('requests', 0):.0f}", *ms]
        )  # fmt: skip
    parts.append(_table(["app", "promoted", "sha256", "state", "requests", "p50 ms", "p95 ms", "p99 ms"], rows, True))
    parts.append("<h2>Recent jobs</h2>")
    jobs = state.store.recent(20) if state.store is not None else []
    job_rows = [
        [j["id"][:12], j["app"], j["state"], f"{float(j['progress']) * 100:.0f}%", j["attempts"], j["updated"],
         j.get("error") or ""]
        for j in jobs
    ]  # fmt: skip
    parts.append(
        _table(["job", "app", "state", "progress", "attempts", "updated", "error"], job_rows)
        if job_rows
        else "<p class='muted'>no jobs yet</p>"
    )
    for name in state.hosts:
        parts.append(_report_section(root, name))
    parts.append("</body></html>")
    return "".join(parts)


def _report_section(root: Path, app: str) -> str:
    folder = latest_report(root, app)
    title = f"<h2>{_e(app)}: evaluation matrix and drift</h2>"
    if folder is None:
        return title + "<p class='muted'>no monitoring report yet (seek monitor report APP, or daily)</p>"
    out = [title, f"<p class='muted'>report of {_e(folder.name)}</p>"]
    matrix = _json(folder / "matrix.json")
    for axis in ("quality", "efficiency", "stability"):
        values = matrix.get(axis)
        if isinstance(values, dict):
            rows = [[k, _fmt(v)] for k, v in values.items() if not isinstance(v, (dict, list))]
            out.append(f"<h3>{axis}</h3>" + _table(["metric", "value"], rows))
    drift = _json(folder / "drift.json")
    if isinstance(drift, list) and drift:
        rows = [
            [d.get("feature"), d.get("n"), _fmt(d.get("psi")), _fmt(d.get("ks")), d.get("level")] for d in drift[:30]
        ]
        out.append("<h3>drift</h3>" + _table(["feature", "n", "PSI", "KS", "level"], rows))
    for plot in sorted(p.name for p in folder.glob("*.png") if _PLOT.match(p.name)):
        out.append(f"<img alt='{_e(plot)}' src='/ui/reports/{_e(app)}/{_e(folder.name)}/{_e(plot)}'>")
    return "".join(out)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def mount(api: FastAPI, state: ServerState) -> None:
    """Add ``GET /ui`` and ``GET /ui/reports/{app}/{day}/{plot}`` to the app."""
    traffic = Traffic()

    def allowed(request: Request) -> None:
        client = request.client.host if request.client else ""
        if state.settings.auth and client not in ("127.0.0.1", "::1", "testclient"):
            token = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
            state.authorize(token or None, "admin", None)

    @api.get("/ui", response_class=HTMLResponse, tags=["monitoring"], summary="the dashboard page")
    def page(request: Request) -> HTMLResponse:
        allowed(request)
        return HTMLResponse(render(state, traffic))

    @api.get(
        "/ui/reports/{app}/{day}/{plot}",
        response_class=FileResponse,
        tags=["monitoring"],
        summary="a plot of a monitoring report",
        responses={404: {"description": "no such plot"}},
    )
    def plot(app: str, day: str, plot: str, request: Request) -> FileResponse:
        allowed(request)
        if app not in state.hosts or not _DATE.match(day) or not _PLOT.match(plot):
            raise ApiError(404, "no such plot")
        path = state.settings.root_path / "monitoring" / app / "reports" / day / plot
        if not path.is_file() or path.is_symlink():
            raise ApiError(404, "no such plot")
        return FileResponse(path, media_type="image/png")
