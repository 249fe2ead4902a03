"""Kubernetes manifests (deploy/k8s/): parsed and validated offline against the Kubernetes API models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
MODELS = {
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "Service"): "V1Service",
    ("v1", "PersistentVolumeClaim"): "V1PersistentVolumeClaim",
    ("apps/v1", "Deployment"): "V1Deployment",
    ("apps/v1", "StatefulSet"): "V1StatefulSet",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "V2HorizontalPodAutoscaler",
    ("policy/v1", "PodDisruptionBudget"): "V1PodDisruptionBudget",
}


def _documents() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                docs.append((path.name, doc))
    return docs


def _by_kind(kind: str, name: str) -> dict[str, Any]:
    return next(d for _, d in _documents() if d["kind"] == kind and d["metadata"]["name"] == name)


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


def _normalise(value: Any) -> Any:
    """YAML scalars as the API models write them back (numbers in quantities and env values are strings)."""
    return json.loads(json.dumps(value, default=str))


@pytest.mark.parametrize(("source", "doc"), _documents(), ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_manifest_round_trips_through_its_kubernetes_model(source: str, doc: dict[str, Any]) -> None:
    from kubernetes.client import ApiClient

    key = (doc["apiVersion"], doc["kind"])
    assert key in MODELS, f"{source}: unexpected {key}"
    client = ApiClient()
    # the models check required fields and types; a field they do not know is dropped, so the round
    # trip below catches misspelled or misplaced keys too
    model = client._ApiClient__deserialize(doc, MODELS[key])  # type: ignore[attr-defined]
    back = _strip_none(client.sanitize_for_serialization(model))
    assert back == _normalise(doc), (
        f"{source}: {doc['kind']} {doc['metadata']['name']} has fields the API does not know"
    )


def test_kustomization_lists_every_manifest_but_the_documented_variants() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert files - listed == {"hpa-p99.yaml", "prometheus-adapter-rules.yaml"}
    assert listed <= files


def test_api_probes_use_the_v2_health_routes() -> None:
    api = _by_kind("Deployment", "seek-api")["spec"]["template"]["spec"]
    container = api["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]
    assert api["securityContext"]["runAsNonRoot"] is True
    selector = _by_kind("Deployment", "seek-api")["spec"]["selector"]["matchLabels"]
    assert _by_kind("Service", "seek-api")["spec"]["selector"] == selector
    assert _by_kind("PodDisruptionBudget", "seek-api")["spec"]["selector"]["matchLabels"] == selector


def test_hpa_scales_at_70_percent_cpu_and_the_variant_on_p99() -> None:
    hpa = next(yaml.safe_load_all((K8S / "hpa.yaml").read_text()))
    cpu = hpa["spec"]["metrics"][0]["resource"]
    assert cpu["name"] == "cpu" and cpu["target"]["averageUtilization"] == 70
    variant = yaml.safe_load((K8S / "hpa-p99.yaml").read_text())
    pods = variant["spec"]["metrics"][0]["pods"]
    assert pods["metric"]["name"] == "seek_request_duration_seconds_p99" and pods["target"]["averageValue"] == "500m"
    adapter = yaml.safe_load(yaml.safe_load((K8S / "prometheus-adapter-rules.yaml").read_text())["data"]["config.yaml"])
    assert adapter["rules"][0]["name"]["as"] == "seek_request_duration_seconds_p99"


def test_configmap_settings_are_valid_server_settings() -> None:
    from seek.serving.settings import ServeSettings

    data = _by_kind("ConfigMap", "seek-config")["data"]
    settings = ServeSettings(**json.loads(data["SEEK_SERVE_SETTINGS"]))
    assert settings.root == data["SEEK_RUNS_DIR"] and settings.broker_url == data["SEEK_BROKER_URL"]
    redis = _by_kind("Service", "seek-redis")
    assert f"//{redis['metadata']['name']}:{redis['spec']['ports'][0]['port']}/" in data["SEEK_BROKER_URL"]


def test_worker_runs_seek_worker_on_the_broker() -> None:
    worker = _by_kind("Deployment", "seek-worker")["spec"]["template"]["spec"]["containers"][0]
    assert worker["command"][:2] == ["seek", "worker"] and "$(SEEK_BROKER_URL)" in worker["command"]
