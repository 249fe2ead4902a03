"""Test helpers: a recorded day of serving events and a sealed run folder holding a training reference.

Used by tests/monitoring (through its conftest fixtures) and tests/cli/test_monitor.py.
"""

from __future__ import annotations

import json
import time as real_time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from seek.monitoring import events_log
from seek.monitoring.events_log import SERVER, record_inputs, request_recorder
from seek.serving import events as serving_events
from seek.serving.events import EventLog

APP = "toy-fraud"
N = 1440  # one predict request a minute for a day


@dataclass
class Day:
    root: Path
    start: datetime
    until: datetime
    status: list[int]
    latency: list[float]
    truth: dict[str, int]
    scores: dict[str, float]


def _scope(route: str) -> dict[str, str]:
    return {"path": f"/v1/apps/{APP}/predict" if route == "predict" else f"/v2/models/{APP}/{route}"}


def record_day(root: Path, monkeypatch: pytest.MonkeyPatch, shift: float = 0.0) -> Day:
    """A day of traffic through the server's EventLog and the monitoring recorders, on a fake clock."""
    clock = [0.0]
    monkeypatch.setattr(serving_events, "time", SimpleNamespace(time=lambda: clock[0]))
    monkeypatch.setattr(events_log, "RESOURCE_EVERY_S", 1e9)  # heartbeats are written below, with known CPU
    log = EventLog(root)
    observe = request_recorder(log)
    assert observe is not None
    rng = np.random.default_rng(3)
    start = datetime.fromtimestamp(real_time.time(), UTC).replace(microsecond=0) - timedelta(hours=23, minutes=59)
    status, latency, truth, scores = [], [], {}, {}
    for i in range(N):
        clock[0] = start.timestamp() + 60 * i
        code = 503 if i % 100 == 0 else 422 if i % 50 == 25 else 200
        seconds = 0.005 + 0.001 * (i % 20) + (0.2 if i % 97 == 0 else 0.0)
        status.append(code)
        latency.append(seconds)
        if code == 200:
            pid = f"r{i}-0"
            y = int(rng.random() < 0.3)
            score = float(np.clip(0.35 * y + rng.random() * 0.65, 0, 1))
            log.add(
                "prediction",
                APP,
                {"id": pid, "version": 1, "score": score, "label": int(score >= 0.5), "latency_s": seconds},
            )
            record = {"amount": float(rng.lognormal(3 + shift, 1)), "channel": "web" if rng.random() < 0.6 else "pos"}
            record_inputs(log, APP, [pid], [record])
            scores[pid] = score
            if i % 5 != 0:  # 80 % of the answers get a label later
                log.add("feedback", APP, {"id": pid, "label": y, "ts": clock[0] + 30})
                truth[pid] = y
        observe(_scope("predict"), code, seconds)
        observe({"path": "/v2/health/live"}, 200, 0.0001)  # not an app's request: not recorded
    for pid_, cpu in ((101, 0.0), (102, 0.0)):
        log.add("resource", SERVER, {"pid": pid_, "cpu_s": cpu, "rss_bytes": 100 << 20, "ts": start.timestamp()})
        log.add(
            "resource",
            SERVER,
            {"pid": pid_, "cpu_s": cpu + 864.0, "rss_bytes": 150 << 20, "ts": start.timestamp() + 86_400 - 60},
        )
    log.flush()
    until = start + timedelta(days=1)
    return Day(root, start, until, status, latency, truth, scores)


def make_reference_run(tmp_path: Path) -> Path:
    """A sealed run folder whose reference is the training distribution of the recorded inputs."""
    from seek.artifacts import ArtifactWriter
    from seek.monitoring.reference import build_reference, save_reference
    from seek.runs import RunFolder

    rng = np.random.default_rng(11)
    n = 5_000
    frame = pl.DataFrame(
        {"amount": rng.lognormal(3, 1, n), "channel": np.where(rng.random(n) < 0.6, "web", "pos").tolist()}
    )
    run = RunFolder(tmp_path / "runs" / "train-1")
    run.write_json("run.json", {"app": APP, "status": "finished"})
    save_reference(run, build_reference(frame), ArtifactWriter(run))
    run.seal()
    assert json.loads((run.path / "manifest.json").read_text())["artifacts"]["reference"]["kind"] == "json"
    return run.path
