"""Prometheus alert rules (deploy/prometheus/rules.yml), unit-tested with ``promtool test rules``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

PROM = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing in CI: scripts/setup-tests.sh installs it (Debian package prometheus)")
        pytest.skip("promtool not installed (apt-get install prometheus); CI runs this test")
    return found


def test_rules_pass_promtool_check() -> None:
    out = subprocess.run(
        [_promtool(), "check", "rules", str(PROM / "rules.yml")], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_rule_unit_tests_fire_and_stay_quiet_as_written() -> None:
    out = subprocess.run(
        [_promtool(), "test", "rules", "rules.test.yml"], cwd=PROM, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_alert_has_a_unit_test_that_expects_it_to_fire() -> None:
    rules = yaml.safe_load((PROM / "rules.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    tests = yaml.safe_load((PROM / "rules.test.yml").read_text())["tests"]
    fired = {c["alertname"] for t in tests for c in t.get("alert_rule_test", []) if c.get("exp_alerts")}
    quiet = {c["alertname"] for t in tests for c in t.get("alert_rule_test", []) if not c.get("exp_alerts")}
    assert alerts == fired, f"alerts without a firing test: {alerts - fired}"
    assert alerts - {"SeekFeatureDriftWarning", "SeekServerAbsent"} <= quiet, "each main alert has a must-not-fire case"


def test_the_guides_two_rules_are_as_specified() -> None:
    rules = {r["alert"]: r for g in yaml.safe_load((PROM / "rules.yml").read_text())["groups"] for r in g["rules"]}
    p99 = rules["SeekP99LatencyHigh"]
    assert p99["expr"] == (
        "histogram_quantile(0.99, sum by (le, app)(rate(seek_request_duration_seconds_bucket[5m]))) > 0.5"
    )
    assert p99["for"] == "5m" and p99["labels"]["action"] == "scale-out"
    rising = rules["SeekErrorRateRising"]
    assert "offset 1d" in rising["expr"] and ">= 1.2 *" in rising["expr"] and rising["labels"]["severity"] == "warning"
