"""Prometheus scrape config and dashboard queries, checked with promtool (deploy/prometheus/prometheus.yml)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing in CI: scripts/setup-tests.sh installs it (Debian package prometheus)")
        pytest.skip("promtool not installed (apt-get install prometheus); CI runs this test")
    return found


def test_scrape_config_is_valid_and_scrapes_job_seek(tmp_path: Path) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    job = config["scrape_configs"][0]
    assert job["job_name"] == "seek" and job["metrics_path"] == "/metrics"  # the rules match up{job="seek"}
    # Debian's promtool is built without Kubernetes discovery: check the rest with a static target in its place
    job.pop("kubernetes_sd_configs")
    job["static_configs"] = [{"targets": ["127.0.0.1:8000"]}]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    shutil.copy(DEPLOY / "prometheus" / "rules.yml", tmp_path / "rules.yml")
    out = subprocess.run(
        [_promtool(), "check", "config", "prometheus.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_dashboard_query_parses_as_promql(tmp_path: Path) -> None:
    dash = json.loads((DEPLOY / "grafana" / "seek-dashboard.json").read_text())
    exprs = [t["expr"].replace("$app", ".*") for p in dash["panels"] for t in p["targets"]]
    rules = {
        "groups": [
            {"name": "dashboard", "rules": [{"record": f"dashboard:q{i}", "expr": e} for i, e in enumerate(exprs)]}
        ]
    }
    (tmp_path / "dashboard.yml").write_text(yaml.safe_dump(rules))
    out = subprocess.run(
        [_promtool(), "check", "rules", "dashboard.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_alertmanager_routes_scale_out_critical_and_warnings() -> None:
    am = yaml.safe_load((DEPLOY / "prometheus" / "alertmanager.yml").read_text())
    receivers = {r["name"] for r in am["receivers"]}
    routes = am["route"]["routes"]
    assert {r["receiver"] for r in routes} | {am["route"]["receiver"]} <= receivers
    assert routes[0]["matchers"] == ['action="scale-out"'] and routes[0]["continue"] is True
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules.yml").read_text())
    severities = {r["labels"]["severity"] for g in rules["groups"] for r in g["rules"]}
    assert severities <= {"critical", "warning", "info"}
