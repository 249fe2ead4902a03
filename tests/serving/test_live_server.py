"""End to end against a real ``seek serve`` (uvicorn on 127.0.0.1) and a real ``seek worker`` on redis."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time

import httpx
from serving.conftest import digits_records

APP = "quickstart-digits"


def _seek(*args: str, root) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "seek", *args, "--root", str(root)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_live_server_health_infer_feedback_keys_limits_and_celery_jobs(runs_root, live_server, redis_url, tmp_path):
    predict_key = _seek("keys", "create", "--app", APP, "--scope", "predict", "--rate", "1000", root=runs_root).strip()
    jobs_key = _seek("keys", "create", "--app", APP, "--scope", "jobs", "--rate", "2", "--burst", "4", root=runs_root)
    jobs_key = jobs_key.strip()
    assert "hash" not in _seek("keys", "list", root=runs_root)
    worker_log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - closed in the finally below
    worker = subprocess.Popen(
        [sys.executable, "-m", "seek", "worker", "--broker", redis_url, "--root", str(runs_root)],
        stdout=worker_log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    try:
        server = live_server("--broker", redis_url, "--max-body", "20000", "--log-format", "json")
        url = server.url
        headers = {"Authorization": f"Bearer {predict_key}"}
        with httpx.Client(base_url=url, timeout=10) as http:
            assert http.get("/v2/health/live").json() == {"live": True}
            assert http.get(f"/v2/models/{APP}/ready").json()["ready"] is True
            pixels = [r["pixels"] for r in digits_records(2)]
            tensors = {"inputs": [{"name": "pixels", "shape": [2, 64], "datatype": "FP64", "data": pixels}]}
            assert http.post(f"/v2/models/{APP}/infer", json=tensors).status_code == 401
            answer = http.post(f"/v2/models/{APP}/infer", json=tensors, headers={**headers, "X-Request-ID": "e2e-1"})
            assert answer.status_code == 200 and answer.headers["x-request-id"] == "e2e-1"
            ids = http.post(f"/v1/apps/{APP}/predict", json={"records": digits_records(1)}, headers=headers).json()
            fb = http.post(
                f"/v2/models/{APP}/feedback", json={"items": [{"id": ids["ids"][0], "label": 0}]}, headers=headers
            )
            assert fb.json() == {"accepted": 1}
            too_big = http.post(f"/v1/apps/{APP}/predict", json={"records": digits_records(120)}, headers=headers)
            assert too_big.status_code == 413
            garbage = http.post(f"/v1/apps/{APP}/predict", content=b"\x00" * 100, headers=headers)
            assert garbage.status_code == 422 and "Traceback" not in garbage.text
            jh = {"Authorization": f"Bearer {jobs_key}", "Idempotency-Key": "e2e"}
            assert (
                http.post("/v1/jobs", json={"app": APP, "records": digits_records(3)}, headers=headers).status_code
                == 403
            )
            job = http.post("/v1/jobs", json={"app": APP, "records": digits_records(3)}, headers=jh).json()
            deadline = time.monotonic() + 30
            while (status := http.get(f"/v1/jobs/{job['id']}", headers=jh)).status_code == 429 or status.json()[
                "state"
            ] not in ("succeeded", "dead"):
                assert time.monotonic() < deadline, status.text
                time.sleep(0.5)
            assert status.json()["state"] == "succeeded", status.text
            time.sleep(0.6)
            result = http.get(f"/v1/jobs/{job['id']}/result", headers=jh).json()
            assert len(result["predictions"]) == 3
            codes = [http.get(f"/v1/jobs/{job['id']}", headers=jh).status_code for _ in range(8)]
            assert 429 in codes
            limited = http.get(f"/v1/jobs/{job['id']}", headers=jh)
            assert limited.status_code != 429 or int(limited.headers["retry-after"]) >= 1
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        worker_log.close()
    server.stop()
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    assert any(line.get("request_id") == "e2e-1" and line.get("status") == 200 for line in lines)


def test_promote_and_rollback_under_load_drop_no_request(runs_root, live_server, digits_run):
    shutil.copytree(digits_run, runs_root / APP / "v2")
    server = live_server("--no-auth", "--max-batch", "8", "--max-wait-ms", "1")
    stop = threading.Event()
    seen: list[tuple[int, str]] = []

    def hammer() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            while not stop.is_set():
                answer = http.post(f"/v1/apps/{APP}/predict", json={"records": digits_records(2)})
                body = answer.json()
                seen.append((answer.status_code, body.get("model_version", body.get("error"))))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        _seek("models", "promote", str(runs_root / APP / "v2"), root=runs_root)
        deadline = time.monotonic() + 15
        while not any(v == "2" for _, v in seen[-20:]):
            assert time.monotonic() < deadline, "server never switched to v2"
            time.sleep(0.1)
        _seek("models", "rollback", APP, root=runs_root)
        count = len(seen)
        while not all(v == "1" for _, v in seen[-8:]) or len(seen) < count + 8:
            assert time.monotonic() < deadline + 15, "server never rolled back to v1"
            time.sleep(0.1)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    codes = {code for code, _ in seen}
    versions = [v for _, v in seen]
    assert codes == {200}, [s for s in seen if s[0] != 200][:3]
    assert "2" in versions and versions[-1] == "1" and versions[0] == "1"
    assert len(seen) > 50
    listed = _seek("models", "list", "--json", root=runs_root)
    current = [v for v in json.loads(listed) if v["current"]]
    assert [v["version"] for v in current] == [1]
