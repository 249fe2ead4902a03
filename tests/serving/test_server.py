"""The HTTP API in process (FastAPI TestClient): routes, errors, auth, limits, jobs, OpenAPI."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serving.conftest import digits_records

from seek.serving.keys import KeyStore
from seek.serving.server import create_app
from seek.serving.settings import ServeSettings

APP = "quickstart-digits"


def _client(root: Path, raise_server_exceptions: bool = True, **settings) -> TestClient:
    settings.setdefault("apps", [APP])
    app = create_app(ServeSettings(root=str(root), **settings))
    return TestClient(app, raise_server_exceptions=raise_server_exceptions)


@pytest.fixture
def open_client(runs_root):
    with _client(runs_root, auth=False) as client:
        yield client


@pytest.fixture
def keyed(runs_root):
    keys = KeyStore(runs_root)
    tokens = {
        "predict": keys.create(APP, "predict", rate=1000)[1],
        "jobs": keys.create(APP, "jobs", rate=1000)[1],
        "other_app": keys.create("finance-fraud", "predict", rate=1000)[1],
        "slow": keys.create(APP, "predict", rate=0.5, burst=2)[1],
    }
    with _client(runs_root) as client:
        yield client, tokens


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_health_and_model_metadata_follow_oip(open_client):
    assert open_client.get("/v2/health/live").json() == {"live": True}
    assert open_client.get("/v2/health/ready").json() == {"ready": True}
    meta = open_client.get(f"/v2/models/{APP}").json()
    assert meta["name"] == APP and meta["versions"] == ["1"] and meta["platform"] == "seek"
    assert open_client.get(f"/v2/models/{APP}/ready").json() == {"name": APP, "ready": True, "version": "1"}


def test_oip_infer_turns_tensors_into_records_and_answers_into_tensors(open_client):
    pixels = [r["pixels"] for r in digits_records(3)]
    body = {"id": "req-1", "inputs": [{"name": "pixels", "shape": [3, 64], "datatype": "FP32", "data": pixels}]}
    answer = open_client.post(f"/v2/models/{APP}/infer", json=body).json()
    assert answer["model_name"] == APP and answer["model_version"] == "1" and answer["id"] == "req-1"
    outputs = {o["name"]: o for o in answer["outputs"]}
    assert outputs["label"]["datatype"] == "INT64" and outputs["label"]["shape"] == [3]
    probs = [json.loads(p) for p in outputs["probabilities"]["data"]]
    assert all(abs(sum(p.values()) - 1) < 1e-4 for p in probs)
    direct = open_client.post(f"/v1/apps/{APP}/predict", json={"records": digits_records(3)}).json()
    assert [p["label"] for p in direct["predictions"]] == outputs["label"]["data"]


def test_tensor_shape_that_does_not_fit_its_data_is_400(open_client):
    body = {"inputs": [{"name": "pixels", "shape": [2, 64], "datatype": "FP32", "data": [1.0] * 64}]}
    answer = open_client.post(f"/v2/models/{APP}/infer", json=body)
    assert answer.status_code == 400 and "needs 128 values" in answer.json()["error"]


def test_bad_record_is_422_naming_the_field_and_hides_server_paths(open_client, runs_root):
    answer = open_client.post(f"/v1/apps/{APP}/predict", json={"records": [{"pixels": [1, 2]}]})
    assert answer.status_code == 422
    assert "pixels" in answer.json()["error"]
    answer = open_client.post(f"/v1/apps/{APP}/predict", json={"records": []})
    assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "records"
    for body in (b"{not json", b"\xff\xfe", b"[]", b'{"records": "x"}'):
        bad = open_client.post(f"/v1/apps/{APP}/predict", content=body, headers={"content-type": "application/json"})
        assert bad.status_code == 422, body
        assert str(runs_root) not in bad.text and "Traceback" not in bad.text
    assert open_client.get("/v2/health/live").status_code == 200  # still serving


def test_a_bad_request_in_a_batch_fails_alone(runs_root):
    import concurrent.futures

    with _client(runs_root, auth=False, max_batch=64, max_wait_ms=50) as client:

        def call(good: bool) -> int:
            records = digits_records(1) if good else [{"pixels": [0]}]
            return client.post(f"/v1/apps/{APP}/predict", json={"records": records}).status_code

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(call, [True, False] * 8))
    assert codes == [200, 422] * 8


def test_request_id_is_echoed_or_made(open_client):
    given = open_client.get("/v2/health/live", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = open_client.get("/v2/health/live", headers={"X-Request-ID": "bad id\twith tab"})
    assert len(made.headers["x-request-id"]) == 32
    answer = open_client.post(f"/v1/apps/{APP}/predict", json={"records": digits_records(2)})
    assert answer.json()["ids"] == [f"{answer.headers['x-request-id']}-{i}" for i in range(2)]


def test_feedback_is_recorded_beside_predictions(runs_root):
    from seek.serving.events import read_events

    with _client(runs_root, auth=False) as client:
        ids = client.post(f"/v1/apps/{APP}/predict", json={"records": digits_records(2)}).json()["ids"]
        answer = client.post(f"/v2/models/{APP}/feedback", json={"items": [{"id": ids[0], "label": 3}]})
        assert answer.json() == {"accepted": 1}
    predictions = read_events(runs_root, APP, "prediction")
    feedback = read_events(runs_root, APP, "feedback")
    assert [p["id"] for p in predictions] == ids and predictions[0]["version"] == 1
    assert feedback[0]["id"] == ids[0] and feedback[0]["label"] == 3


def test_missing_wrong_and_out_of_scope_keys_are_401_and_403(keyed):
    client, tokens = keyed
    url, body = f"/v1/apps/{APP}/predict", {"records": digits_records(1)}
    assert client.post(url, json=body).status_code == 401
    assert client.post(url, json=body, headers=_auth("seek_nope_nope")).status_code == 401
    assert client.post(url, json=body, headers=_auth(tokens["other_app"])).status_code == 403
    assert client.post(url, json=body, headers=_auth(tokens["jobs"])).status_code == 403
    assert client.post(url, json=body, headers=_auth(tokens["predict"])).status_code == 200
    assert client.post(url, json=body, headers={"X-API-Key": tokens["predict"]}).status_code == 200
    job = client.post("/v1/jobs", json={"app": APP, "records": body["records"]}, headers=_auth(tokens["predict"]))
    assert job.status_code == 403
    assert client.get("/v2/health/ready").status_code == 200  # health needs no key


def test_keys_are_stored_hashed(runs_root):
    keys = KeyStore(runs_root)
    key, token = keys.create(APP, "admin")
    stored = keys.path.read_text()
    assert token.split("_", 2)[2] not in stored and key.hash in stored
    assert keys.check(token) == key and keys.check(token + "x") is None
    keys.revoke(key.id)
    assert keys.check(token) is None


def test_rate_limit_answers_429_with_retry_after(keyed):
    client, tokens = keyed
    url, body = f"/v1/apps/{APP}/predict", {"records": digits_records(1)}
    codes = [client.post(url, json=body, headers=_auth(tokens["slow"])) for _ in range(4)]
    assert [c.status_code for c in codes[:2]] == [200, 200]
    limited = codes[2]
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


def test_body_over_the_limit_is_413(runs_root):
    with _client(runs_root, auth=False, max_body_bytes=2000) as client:
        answer = client.post(f"/v1/apps/{APP}/predict", json={"records": digits_records(20)})
        assert answer.status_code == 413 and "larger than 2000 bytes" in answer.json()["error"]
        assert client.post(f"/v1/apps/{APP}/predict", json={"records": digits_records(1)}).status_code == 200


def test_prediction_over_the_timeout_is_504(runs_root):
    with _client(runs_root, auth=False, timeout_s=0.01, max_batch=1) as client:
        host = client.app.app.state.seek.hosts[APP]
        slow = host.loaded.predictor

        class Slow:
            def predict(self, batch):
                time.sleep(0.2)
                return slow.predict(batch)

        host.loaded = type(host.loaded)(host.loaded.version, Slow())
        answer = client.post(f"/v1/apps/{APP}/predict", json={"records": digits_records(1)})
    assert answer.status_code == 504 and "longer than" in answer.json()["error"]


def test_predictor_bug_is_500_without_traceback(runs_root):
    with _client(runs_root, raise_server_exceptions=False, auth=False) as client:
        host = client.app.app.state.seek.hosts[APP]

        class Broken:
            def predict(self, batch):
                raise ZeroDivisionError(f"secret detail in {runs_root}/model")

        host.loaded = type(host.loaded)(host.loaded.version, Broken())
        answer = client.post(f"/v1/apps/{APP}/predict", json={"records": digits_records(1)})
    assert answer.status_code == 500
    assert answer.json()["error"] == "internal error" and "secret" not in answer.text


def _wait_job(client, job_id, headers=None, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if status["state"] in ("succeeded", "dead"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} not finished: {status}")


def test_in_process_jobs_submit_status_result_delete_with_idempotency(keyed):
    client, tokens = keyed
    headers = {**_auth(tokens["jobs"]), "Idempotency-Key": "batch-7"}
    first = client.post("/v1/jobs", json={"app": APP, "records": digits_records(5)}, headers=headers)
    again = client.post("/v1/jobs", json={"app": APP, "records": digits_records(5)}, headers=headers)
    assert first.status_code == 202 and again.status_code == 200 and again.json()["id"] == first.json()["id"]
    job_id = first.json()["id"]
    status = _wait_job(client, job_id, headers)
    assert status["state"] == "succeeded" and status["progress"] == 1.0 and status["attempts"] == 1
    result = client.get(f"/v1/jobs/{job_id}/result", headers=headers).json()
    assert len(result["predictions"]) == 5 and result["model_version"] == "1"
    assert client.delete(f"/v1/jobs/{job_id}", headers=headers).json()["state"] == "deleted"
    assert client.get(f"/v1/jobs/{job_id}/result", headers=headers).status_code == 409
    assert client.get("/v1/jobs/" + "0" * 32, headers=headers).status_code == 404


def test_uploaded_jsonl_and_csv_batches_run_as_jobs(open_client):
    lines = "\n".join(json.dumps(r) for r in digits_records(3)).encode()
    job = open_client.post("/v1/jobs", data={"app": APP}, files={"file": ("batch.jsonl", lines)}).json()
    assert _wait_job(open_client, job["id"])["state"] == "succeeded"
    assert len(open_client.get(f"/v1/jobs/{job['id']}/result").json()["predictions"]) == 3
    bad = open_client.post("/v1/jobs", data={"app": APP}, files={"file": ("rows.csv", b"pixels\n1\n")}).json()
    dead = _wait_job(open_client, bad["id"])
    assert dead["state"] == "dead" and "must be a list of 64 numbers" in dead["error"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("evil.exe", b"MZ", "not accepted"),
        ("../../etc/passwd.csv", b"a\n1", "not a plain file name"),
    ],
)
def test_uploads_of_the_wrong_type_or_with_a_path_are_refused(open_client, name, content, message):
    answer = open_client.post("/v1/jobs", data={"app": APP}, files={"file": (name, content)})
    assert answer.status_code == 422 and message in answer.json()["error"]


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_slip_and_zip_bombs_are_refused(tmp_path):
    from seek.errors import DataError
    from seek.serving.limits import ZipLimits, extract_zip

    slip = tmp_path / "slip.zip"
    slip.write_bytes(_zip({"../../outside.txt": b"x"}))
    with pytest.raises(DataError, match="leaves the extraction folder"):
        extract_zip(slip, tmp_path / "out")
    assert not (tmp_path.parent / "outside.txt").exists()
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(_zip({"zeros.bin": b"\0" * (20 << 20)}))
    with pytest.raises(DataError, match="zip bomb"):
        extract_zip(bomb, tmp_path / "out2")
    big = tmp_path / "big.zip"
    big.write_bytes(_zip({f"f{i}.txt": bytes(range(256)) * 40 for i in range(5)}))
    with pytest.raises(DataError, match="unpacks to"):
        extract_zip(big, tmp_path / "out3", ZipLimits(max_unpacked_bytes=10_000))
    fine = tmp_path / "fine.zip"
    fine.write_bytes(_zip({"study/a.dcm": b"DICM" * 10}))
    assert (extract_zip(fine, tmp_path / "out4") / "study" / "a.dcm").is_file()


def test_openapi_document_has_every_route_with_its_schemas(open_client):
    doc = open_client.get("/openapi.json").json()
    paths = doc["paths"]
    for path in (
        "/v2/health/live",
        "/v2/health/ready",
        f"/v2/models/{APP}",
        f"/v2/models/{APP}/ready",
        f"/v2/models/{APP}/infer",
        f"/v2/models/{APP}/feedback",
        f"/v1/apps/{APP}/predict",
        "/v1/jobs",
        "/v1/jobs/{job_id}",
        "/v1/jobs/{job_id}/result",
    ):
        assert path in paths, path
    infer = paths[f"/v2/models/{APP}/infer"]["post"]
    assert {"401", "403", "413", "422", "429", "504"} <= set(infer["responses"])
    assert set(paths["/v1/jobs"]["post"]["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert "HTTPBearer" in doc["components"]["securitySchemes"]


def test_a_datetime_field_takes_an_iso_string_as_json_must_send_it():
    import seek
    from seek.data.schema import Field as SchemaField
    from seek.data.schema import Schema
    from seek.data.spec import DataSpec
    from seek.serving.schemas import record_model

    class TimedApp(seek.App):
        name = "timed-test"
        summary = "a datetime field"
        Config = seek.AppConfig
        data = DataSpec(schema=Schema([SchemaField("at", "datetime", required=True), SchemaField("n", "int")]))

        def run(self, config, ctx):  # pragma: no cover - never run here
            raise NotImplementedError

    model = record_model(TimedApp())
    assert model.model_validate({"at": "2026-01-01T08:03:19+02:00", "n": 3}).at.hour == 8
    with pytest.raises(ValueError):
        model.model_validate({"at": "2026-01-01T08:03:19", "n": "3"})  # numbers stay strict: "3" is not an int
