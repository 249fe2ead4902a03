"""Prometheus metrics after real requests: names, types, labels; merged over several gunicorn workers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from serving.conftest import LiveServer, digits_records, digits_run, free_port  # noqa: F401 - digits_run: fixture

from seek.monitoring.metrics import NAMES, route_of
from seek.serving.registry import Registry
from seek.serving.server import create_app
from seek.serving.settings import ServeSettings

APP = "quickstart-digits"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def root(tmp_path, digits_run):  # noqa: F811 - the imported fixture
    root = tmp_path / "runs"
    Registry(root).promote(shutil.copytree(digits_run, root / APP / "v1"))
    return root


def _predict(url: str) -> int:
    with httpx.Client(base_url=url, timeout=10, headers={"Connection": "close"}) as http:
        return http.post(f"/v1/apps/{APP}/predict", json={"records": digits_records(1)}).status_code


def _families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_metrics_have_the_right_types_and_labels_after_real_requests(root):
    with TestClient(create_app(ServeSettings(root=str(root), apps=[APP], auth=False))) as client:
        for _ in range(3):
            assert client.post(f"/v1/apps/{APP}/predict", json={"records": digits_records(2)}).status_code == 200
        assert client.post(f"/v1/apps/{APP}/predict", json={"records": [{"pixels": [1]}]}).status_code == 422
        assert client.post(f"/v1/apps/{APP}/predict", json={"nope": 1}).status_code == 422
        text = client.get("/metrics").text
    fam = _families(text)
    latency = fam["seek_request_duration_seconds"]
    assert latency.type == "histogram"
    counts = {
        (s.labels["app"], s.labels["route"], s.labels["status"]): s.value
        for s in latency.samples
        if s.name.endswith("_count")
    }
    assert counts[(APP, "predict", "200")] == 3 and counts[(APP, "predict", "422")] == 2
    requests = fam["seek_requests"]
    assert requests.type == "counter"
    assert {s.labels["status"] for s in requests.samples if s.labels.get("route") == "predict"} == {"200", "422"}
    errors = [s for s in fam["seek_request_errors"].samples if s.name.endswith("_total")]
    assert sum(s.value for s in errors if s.labels["app"] == APP) == 2
    assert fam["seek_requests_in_flight"].type == "gauge"
    batch = {s.name: s.value for s in fam["seek_batch_size"].samples if s.labels.get("app") == APP}
    assert batch["seek_batch_size_sum"] == 7  # 3 x 2 records + the bad single record
    info = [s for s in fam["seek_model_info"].samples if s.labels["app"] == APP]
    assert info and info[0].labels["version"] == "1" and info[0].value == 1
    scores = {s.name: s.value for s in fam["seek_prediction_score"].samples}
    assert scores["seek_prediction_score_count"] == 6
    invalid = {s.labels["kind"]: s.value for s in fam["seek_validation_failures"].samples if s.name.endswith("_total")}
    assert invalid["request"] == 2 and invalid["predictor"] == 1
    assert fam["seek_job_queue_depth"].type == "gauge"
    exported = {s.name for f in fam.values() for s in f.samples}
    for name in NAMES:
        if name.startswith("seek_feature_drift") or name == "seek_job_duration_seconds":
            continue  # labelled children appear once drift is computed / a job ran
        assert any(n == name or n.startswith(name + "_") for n in exported), name


def test_route_labels_stay_bounded():
    assert route_of(f"/v2/models/{APP}/infer") == (APP, "infer")
    assert route_of(f"/v1/apps/{APP}/predict") == (APP, "predict")
    assert route_of("/v1/jobs/0123abcd/result") == ("-", "jobs")
    assert route_of("/some/random/path/12345") == ("-", "other")


@pytest.mark.slow
def test_metrics_are_merged_over_several_gunicorn_workers(root, tmp_path):
    port = free_port()
    metrics_dir = tmp_path / "prom"
    settings = ServeSettings(root=str(root), apps=[APP], auth=False, record_events=False)
    env = {
        **os.environ,
        "SEEK_SERVE_SETTINGS": settings.to_env(),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "SEEK_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "OMP_NUM_THREADS": "1",
    }
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "deploy" / "gunicorn.conf.py"),
             "seek.serving.server:factory()"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            server = LiveServer.__new__(LiveServer)
            server.url, server.proc, server.log = f"http://127.0.0.1:{port}", proc, log
            server.wait_ready()
            sent = 0
            close = {"Connection": "close"}  # a new connection each time, so both workers get some
            with httpx.Client(base_url=server.url, timeout=10, headers=close) as http:
                deadline = time.monotonic() + 120  # a worker booting torch on a busy 2-core box is slow
                while sent < 60 or len(list(metrics_dir.glob("counter_*.db"))) < 2:
                    assert time.monotonic() < deadline, "both workers never answered"
                    with ThreadPoolExecutor(4) as pool:
                        codes = list(pool.map(lambda _: _predict(server.url), range(8)))
                    assert codes == [200] * 8
                    sent += 8
                totals = []
                for _ in range(6):  # each scrape may land on either worker; each must see both
                    fam = _families(http.get("/metrics").text)
                    totals.append(
                        sum(
                            s.value
                            for s in fam["seek_requests"].samples
                            if s.name.endswith("_total") and s.labels.get("route") == "predict"
                        )
                    )
                pids = {p.name.split("_")[-1] for p in metrics_dir.glob("counter_*.db")}
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    assert len(pids) >= 2
    assert totals == [sent] * 6  # without multiprocess mode a scrape would count one worker's share


def test_in_process_jobs_observe_their_duration(root):
    with TestClient(create_app(ServeSettings(root=str(root), apps=[APP], auth=False))) as client:
        job = client.post("/v1/jobs", json={"app": APP, "records": digits_records(3)}).json()
        deadline = time.monotonic() + 20
        while client.get(f"/v1/jobs/{job['id']}").json()["state"] != "succeeded":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        fam = _families(client.get("/metrics").text)
    counts = {
        s.labels["outcome"]: s.value for s in fam["seek_job_duration_seconds"].samples if s.name.endswith("_count")
    }
    assert counts == {"succeeded": 1.0}
