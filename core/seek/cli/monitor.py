"""``seek monitor``: the monitoring report of a served app (evaluation matrix, drift, plots)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from seek.errors import ConfigError


@click.group("monitor")
def command() -> None:
    """Watch served models: the three-axis evaluation matrix and drift."""


@command.command("report")
@click.argument("app_name", metavar="APP")
@click.option("--since", default="1d", show_default=True, help="Window length back from --until (15m, 6h, 1d, 7d).")
@click.option("--until", default=None, help="End of the window, ISO UTC time (default: now).")
@click.option(
    "--url", default=None, help="Ask this running server too (liveness, served version), e.g. http://127.0.0.1:8000."
)
@click.option("--runs-root", "--root", "root", default=None, help="Runs root (default: $SEEK_RUNS_DIR or ./runs).")
@click.option("--out", default=None, help="Report folder (default: RUNS_ROOT/monitoring/APP/reports/DATE).")
@click.option(
    "--reference",
    "reference",
    default=None,
    help="Run folder whose training reference to use (default: the promoted run).",
)
@click.option("--psi-warn", type=float, default=None, help="PSI warning threshold (default 0.1).")
@click.option("--psi-alert", type=float, default=None, help="PSI alert threshold (default 0.25).")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option("--json", "as_json", is_flag=True, help="Print matrix.json instead of the summary.")
def report(
    app_name: str,
    since: str,
    until: str | None,
    url: str | None,
    root: str | None,
    out: str | None,
    reference: str | None,
    psi_warn: float | None,
    psi_alert: float | None,
    no_plots: bool,
    as_json: bool,
) -> None:
    """Write report.md, matrix.json, drift.json and plots for APP from the server's recorded events."""
    from pydantic import ValidationError

    from seek.durations import parse_duration
    from seek.monitoring.drift import DriftThresholds
    from seek.monitoring.report import write_report
    from seek.runner import default_root

    try:
        window = parse_duration(since)
    except ValueError as exc:
        raise ConfigError(f"--since: {exc}") from None
    end = None
    if until is not None:
        try:
            end = datetime.fromisoformat(until)
        except ValueError:
            raise ConfigError(f"--until: {until!r} is not an ISO time (e.g. 2026-12-01T00:00:00+00:00)") from None
        end = end if end.tzinfo is not None else end.replace(tzinfo=UTC)
    given: dict[str, Any] = {k: v for k, v in {"psi_warn": psi_warn, "psi_alert": psi_alert}.items() if v is not None}
    try:
        thresholds = DriftThresholds.model_validate(given)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"drift thresholds: {first['msg']}") from None
    runs_root = Path(root) if root is not None else default_root()
    if not (runs_root / "monitoring" / app_name).is_dir() and reference is None:
        raise ConfigError(
            f"{runs_root / 'monitoring' / app_name}: no events recorded for {app_name!r} under this runs root"
        )
    result = write_report(
        runs_root,
        app_name,
        window,
        end,
        url=url,
        out=out,
        reference_run=reference,
        thresholds=thresholds,
        plots=not no_plots,
    )
    if as_json:
        click.echo(json.dumps(json.loads((result.folder / "matrix.json").read_text()), indent=2))
        return
    q, e, s = result.matrix.quality, result.matrix.efficiency, result.matrix.stability
    click.echo(f"{app_name}: {result.matrix.since} .. {result.matrix.until}")
    click.echo(
        f"  quality     {q.labelled:,} labelled of {q.predictions:,}; "
        f"accuracy {_f(q.accuracy)} F1 {_f(q.f1)} AUC {_f(q.auc)}"
    )
    click.echo(f"  efficiency  p50 {_f(e.p50_ms)} ms  p99 {_f(e.p99_ms)} ms  {_f(e.throughput_rps)} req/s")
    click.echo(
        f"  stability   error rate {_f(s.error_rate)}  abnormal {_f(s.abnormal_ratio)}  "
        f"availability {_f(s.availability)}"
    )
    drifted = result.drift.drifted
    click.echo(
        f"  drift       {len(drifted)} of {len(result.drift.rows)} features drifted"
        + (f": {', '.join(drifted[:8])}" if drifted else "")
    )
    click.echo(f"  report      {result.folder / 'report.md'}")


def _f(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"
