"""The monitoring report of one app: matrix + drift + plots, written as Markdown beside JSON and PNGs.

``seek monitor report APP`` and the server's daily writer both call :func:`write_report`; the output
folder defaults to ``<root>/monitoring/<app>/reports/<until's UTC date>/`` (report.md, matrix.json,
drift.json, latency.png, traffic.png, quality.png, drift.png). The drift reference is the one in the
promoted model's run folder (hash-checked with the run), or the run given with ``reference_run``.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seek.io import atomic_path, atomic_write_json, atomic_write_text
from seek.monitoring.drift import DriftTable, DriftThresholds, drift_table
from seek.monitoring.events_log import read_inputs
from seek.monitoring.matrix import Matrix, Window, compute_matrix, fmt, labelled, read_window

if TYPE_CHECKING:
    from seek.monitoring.reference import Reference


@dataclass
class MonitorReport:
    """What one report holds and where it was written."""

    matrix: Matrix
    drift: DriftTable
    folder: Path
    reference: str | None = None
    live: dict[str, Any] = field(default_factory=dict)
    plots: list[str] = field(default_factory=list)


def promoted_run(root: str | os.PathLike[str], app: str) -> str | None:
    """The run folder of ``app``'s promoted model in the registry under ``root`` (None if none)."""
    from seek.serving.registry import Registry

    current = Registry(root).current(app)
    return current.run if current is not None else None


def write_report(
    root: str | os.PathLike[str],
    app: str,
    since: timedelta = timedelta(days=1),
    until: datetime | None = None,
    url: str | None = None,
    out: str | os.PathLike[str] | None = None,
    reference_run: str | os.PathLike[str] | None = None,
    thresholds: DriftThresholds | None = None,
    plots: bool = True,
) -> MonitorReport:
    """Compute the matrix and drift of ``app`` over the last ``since`` and write the report folder."""
    from seek.monitoring.reference import load_reference

    end = until or datetime.now(UTC)
    start = end - since
    window = read_window(root, app, start, end)
    matrix = compute_matrix(app, window, start, end)
    ref_dir = str(reference_run) if reference_run is not None else promoted_run(root, app)
    reference: Reference | None = load_reference(ref_dir) if ref_dir is not None else None
    table = DriftTable()
    if reference is not None:
        inputs = read_inputs(root, app, start)
        if inputs.height:
            table = drift_table(reference, {c: inputs.get_column(c) for c in inputs.columns}, thresholds)
    folder = Path(out) if out is not None else Path(root) / "monitoring" / app / "reports" / end.strftime("%Y-%m-%d")
    report = MonitorReport(matrix, table, folder, ref_dir if reference is not None else None)
    if url:
        report.live = live_state(url, app)
    if plots:
        report.plots = _plots(folder, window, table, thresholds or DriftThresholds())
    atomic_write_json(folder / "matrix.json", {**matrix.to_json(), "live": report.live, "reference": report.reference})
    atomic_write_json(folder / "drift.json", table.to_json())
    atomic_write_text(folder / "report.md", markdown(report))
    return report


def live_state(url: str, app: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """What the running server says now: liveness, the served version and in-flight requests (from /metrics)."""
    base = url.rstrip("/")
    state: dict[str, Any] = {"url": base}
    try:
        with urllib.request.urlopen(f"{base}/v2/health/live", timeout=timeout_s) as response:
            state["live"] = response.status == 200
        with urllib.request.urlopen(f"{base}/metrics", timeout=timeout_s) as response:
            text = response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as exc:  # a server that is down is a finding of the report, not a crash
        state.update(live=False, error=str(getattr(exc, "reason", exc)))
        return state
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "seek_model_info" and sample.labels.get("app") == app:
                state["version"] = sample.labels.get("version")
            elif sample.name == "seek_requests_in_flight":
                state["in_flight"] = sample.value
    return state


def markdown(report: MonitorReport) -> str:
    """The report as Markdown."""
    m = report.matrix
    q, e, s = m.quality, m.efficiency, m.stability
    lines = [
        f"# Monitoring report: {m.app}",
        "",
        f"Window: {m.since} to {m.until} (UTC).",
        "",
        "## Evaluation matrix",
        "",
        "| axis | measure | value |",
        "|---|---|---:|",
        f"| quality | predictions / with feedback | {fmt(q.predictions)} / {fmt(q.labelled)} |",
        f"| quality | task | {q.task} |",
        f"| quality | accuracy | {fmt(q.accuracy)} |",
        f"| quality | precision | {fmt(q.precision)} |",
        f"| quality | recall | {fmt(q.recall)} |",
        f"| quality | F1 | {fmt(q.f1)} |",
        f"| quality | ROC AUC | {fmt(q.auc)} |",
        f"| efficiency | latency p50 / p95 / p99 (ms, from {e.latency_source}) "
        f"| {fmt(e.p50_ms)} / {fmt(e.p95_ms)} / {fmt(e.p99_ms)} |",
        "| efficiency | throughput: mean / busiest minute (requests/s) "
        f"| {fmt(e.throughput_rps)} / {fmt(e.peak_rps)} |",
        f"| efficiency | predictions/s | {fmt(e.predictions_per_s)} |",
        f"| efficiency | CPU (cores in use) | {fmt(e.cpu_cores)} |",
        f"| efficiency | resident memory, peak (MiB) | {fmt(e.rss_mb_peak)} |",
        f"| stability | requests / errors (4xx+5xx) | {fmt(s.requests)} / {fmt(s.errors)} |",
        f"| stability | error rate | {fmt(s.error_rate)} |",
        f"| stability | abnormal-request ratio (400/413/415/422) | {fmt(s.abnormal_ratio)} |",
        f"| stability | availability (non-5xx share) | {fmt(s.availability)} |",
        "",
        "## Drift",
        "",
        f"Reference: `{report.reference}`." if report.reference else "No training reference found (no promoted run).",
        "",
        report.drift.markdown(),
        "",
    ]
    if report.drift.drifted:
        lines += [f"Drifted features (PSI >= warn): {', '.join(report.drift.drifted)}.", ""]
    if report.live:
        live = report.live
        status = "live" if live.get("live") else f"NOT reachable ({live.get('error', 'not live')})"
        lines += ["## Server now", "", f"{live['url']}: {status}; version {live.get('version', '–')}.", ""]
    for name in report.plots:
        lines += [f"![{name[:-4]}]({name})", ""]
    return "\n".join(lines)


def _plots(folder: Path, window: Window, table: DriftTable, thresholds: DriftThresholds) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import polars as pl

    written: list[str] = []

    def save(fig: Any, name: str) -> None:
        with atomic_path(folder / name) as tmp:
            fig.savefig(tmp, format="png", dpi=90, bbox_inches="tight")
        plt.close(fig)
        written.append(name)

    requests = window.requests
    source = requests if requests.height else window.predictions
    if source.height and "latency_s" in source.columns:
        ms = 1000 * source.get_column("latency_s").cast(pl.Float64).to_numpy()
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
        positive = ms[ms > 0]
        if positive.size:
            left.hist(positive, bins=np.geomspace(positive.min(), positive.max() * 1.01, 60))
            left.set_xscale("log")
        for q, style in ((50, "-"), (95, "--"), (99, ":")):
            left.axvline(float(np.percentile(ms, q)), color="k", linestyle=style, label=f"p{q}")
        left.set_xlabel("latency (ms)")
        left.legend()
        hourly = (
            source.group_by((pl.col("ts") // 3600).alias("hour"))
            .agg((1000 * pl.col("latency_s").quantile(q)).alias(f"p{int(q * 100)}") for q in (0.5, 0.99))
            .sort("hour")
        )
        hours = hourly.get_column("hour").to_numpy()
        hours = hours - hours.min()
        right.plot(hours, hourly.get_column("p50"), label="p50")
        right.plot(hours, hourly.get_column("p99"), label="p99")
        right.set_xlabel("hour of the window")
        right.set_ylabel("ms")
        right.legend()
        save(fig, "latency.png")
    if requests.height:
        per_hour = (
            requests.group_by((pl.col("ts") // 3600).alias("hour"))
            .agg(
                (pl.col("status") < 400).sum().alias("ok"),
                ((pl.col("status") >= 400) & (pl.col("status") < 500)).sum().alias("4xx"),
                (pl.col("status") >= 500).sum().alias("5xx"),
            )
            .sort("hour")
        )
        hours = per_hour.get_column("hour").to_numpy()
        hours = hours - hours.min()
        fig, ax = plt.subplots(figsize=(10, 3))
        bottom = np.zeros(len(hours))
        for name in ("ok", "4xx", "5xx"):
            values = per_hour.get_column(name).to_numpy()
            ax.bar(hours, values, bottom=bottom, label=name)
            bottom += values
        ax.set_xlabel("hour of the window")
        ax.set_ylabel("requests")
        ax.legend()
        save(fig, "traffic.png")
    joined = labelled(window.predictions, window.feedback)
    scores = joined.get_column("score").drop_nulls().to_numpy() if joined.height else np.array([])
    if scores.size:
        from sklearn.metrics import roc_curve

        fig, ax = plt.subplots(figsize=(4.5, 4))
        truth = joined.filter(pl.col("score").is_not_null()).get_column("truth").to_numpy()
        if set(truth.tolist()) <= {"0", "1", "true", "false"} and len(set(truth.tolist())) == 2:
            fpr, tpr, _ = roc_curve(np.isin(truth, ["1", "true"]).astype(int), scores)
            ax.plot(fpr, tpr)
            ax.plot([0, 1], [0, 1], "k:")
            ax.set_xlabel("false positive rate")
            ax.set_ylabel("true positive rate")
            ax.set_title("ROC from feedback")
        else:
            ax.hist(scores, bins=20)
            ax.set_xlabel("score of labelled predictions")
        save(fig, "quality.png")
    judged = [r for r in table.rows if r.level != "n/a"][:15]
    if judged:
        fig, ax = plt.subplots(figsize=(6, 0.3 * len(judged) + 1))
        names = [r.feature for r in judged][::-1]
        psis = [r.psi for r in judged][::-1]
        colors = [
            "tab:red" if r.level == "alert" else "tab:orange" if r.level == "warn" else "tab:blue" for r in judged
        ][::-1]
        ax.barh(names, psis, color=colors)
        ax.axvline(thresholds.psi_warn, color="tab:orange", linestyle="--")
        ax.axvline(thresholds.psi_alert, color="tab:red", linestyle="--")
        ax.set_xlabel("PSI vs training reference")
        save(fig, "drift.png")
    return written


def load_matrix(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """A written report's matrix.json."""
    data: dict[str, Any] = json.loads((Path(folder) / "matrix.json").read_text())
    return data
