"""``seek monitor report`` (seek.cli.monitor)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from monitoring_day import make_reference_run, record_day

from seek.cli import build_cli


@pytest.fixture
def day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    return record_day(tmp_path / "served", monkeypatch)


@pytest.fixture
def reference_run(tmp_path: Path) -> Path:
    return make_reference_run(tmp_path)


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(build_cli(), list(args))


def test_report_command_prints_the_three_axes_and_writes_the_folder(
    day: Any, reference_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rep"
    until = day.until.isoformat()
    result = _invoke(
        "monitor",
        "report",
        "toy-fraud",
        "--runs-root",
        str(day.root),
        "--until",
        until,
        "--reference",
        str(reference_run),
        "--out",
        str(out),
        "--no-plots",
    )
    assert result.exit_code == 0, result.output
    assert (
        "quality" in result.output
        and "availability 0.9896" in result.output
        and "0 of 2 features drifted" in result.output
    )
    assert (out / "report.md").is_file()
    as_json = _invoke(
        "monitor",
        "report",
        "toy-fraud",
        "--runs-root",
        str(day.root),
        "--until",
        until,
        "--since",
        str(int(timedelta(hours=12).total_seconds())),
        "--no-plots",
        "--out",
        str(out),
        "--json",
    )
    assert json.loads(as_json.output)["stability"]["requests"] == 720


def test_bad_window_and_unknown_app_are_one_line_errors(day: Any) -> None:
    bad = _invoke("monitor", "report", "toy-fraud", "--runs-root", str(day.root), "--since", "3x")
    assert bad.exit_code == 2 and bad.output.startswith("error: --since:") and bad.output.count("\n") == 1
    missing = _invoke("monitor", "report", "nope", "--runs-root", str(day.root))
    assert missing.exit_code == 2 and "no events recorded for 'nope'" in missing.output
    order = _invoke("monitor", "report", "toy-fraud", "--runs-root", str(day.root), "--psi-warn", "0.5")
    assert order.exit_code == 2 and "psi_alert" in order.output
