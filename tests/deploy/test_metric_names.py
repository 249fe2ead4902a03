"""Every metric the dashboard, the alert rules and the HPA adapter query is one the server exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from seek.monitoring.metrics import NAMES

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SUFFIXES = ("_bucket", "_sum", "_count")
FROM_PROMETHEUS = {"up"}  # written by Prometheus itself for every target
WORDS = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
PROMQL = {
    "by",
    "without",
    "sum",
    "max",
    "min",
    "avg",
    "count",
    "rate",
    "irate",
    "deriv",
    "delta",
    "increase",
    "histogram_quantile",
    "offset",
    "and",
    "or",
    "unless",
    "absent",
    "bool",
    "on",
    "ignoring",
    "le",
    "app",
    "feature",
    "version",
    "sha256",
    "outcome",
    "job",
    "instance",
    "label_values",
    "d",
    "h",
    "m",
    "s",
}


def metric_names(expr: str) -> set[str]:
    """Names in a PromQL expression that are metrics (outside label matchers, strings and templates)."""
    expr = re.sub(r"\{[^}]*\}", "", re.sub(r"<<[^>]*>>", "", expr))  # label matchers, adapter templates
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors
    names = set()
    for match in WORDS.finditer(expr):
        word = match.group(0)
        follows = expr[match.end() :].lstrip()[:1]
        if word in PROMQL or follows == "(":
            continue
        names.add(word)
    return names


def _exported(name: str) -> bool:
    if name in NAMES or name in FROM_PROMETHEUS:
        return True
    return any(name.endswith(s) and name[: -len(s)] in NAMES for s in SUFFIXES)


def _dashboard_exprs() -> list[str]:
    dash = json.loads((DEPLOY / "grafana" / "seek-dashboard.json").read_text())
    return [t["expr"] for p in dash["panels"] for t in p["targets"]]


def _rule_exprs() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules.yml").read_text())
    return [r["expr"] for g in rules["groups"] for r in g["rules"]]


def _adapter_exprs() -> list[str]:
    data: Any = yaml.safe_load((DEPLOY / "k8s" / "prometheus-adapter-rules.yaml").read_text())
    rules = yaml.safe_load(data["data"]["config.yaml"])["rules"]
    return [r["seriesQuery"] for r in rules] + [r["name"]["matches"].strip("^$") for r in rules]


def test_the_name_extractor_finds_metrics_and_skips_functions_and_labels() -> None:
    expr = 'histogram_quantile(0.99, sum by (le, app)(rate(foo_bucket{app="x",le="0.5"}[5m]))) > 0.5 and bar offset 1d'
    assert metric_names(expr) == {"foo_bucket", "bar"}


def test_dashboard_rules_and_adapter_query_only_exported_metrics() -> None:
    exprs = _dashboard_exprs() + _rule_exprs() + _adapter_exprs()
    used = set().union(*(metric_names(e) for e in exprs))
    missing = sorted(n for n in used if not _exported(n))
    assert not missing, f"queried but not exported by seek.monitoring.metrics: {missing}"
    assert {"seek_request_duration_seconds_bucket", "seek_feature_drift_psi", "seek_job_queue_depth"} <= used


def test_dashboard_shows_what_the_issue_asks_for() -> None:
    dash = json.loads((DEPLOY / "grafana" / "seek-dashboard.json").read_text())
    text = json.dumps([p["targets"] for p in dash["panels"]])
    for name in (
        "seek_requests_total",
        "seek_request_duration_seconds_bucket",
        "seek_request_errors_total",
        "seek_feature_drift_psi",
        "seek_batch_size_bucket",
        "seek_job_queue_depth",
    ):
        assert name in text, name
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)) and dash["uid"] == "seek-serving"
