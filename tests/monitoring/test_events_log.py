"""The monitoring event log: recorders the server calls and the columnar reader (seek.monitoring.events_log)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from seek.monitoring import events_log
from seek.monitoring.events_log import SERVER, read_frame, read_inputs, record_inputs, request_recorder, resource_event
from seek.serving.events import EventLog

APP = "toy-fraud"


def test_recorder_keeps_app_requests_chains_observe_and_beats(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(events_log, "RESOURCE_EVERY_S", 0.0)
    seen: list[int] = []
    log = EventLog(tmp_path)
    observe = request_recorder(log, lambda scope, status, seconds: seen.append(status))
    assert observe is not None
    observe({"path": f"/v2/models/{APP}/infer"}, 200, 0.01)
    observe({"path": f"/v1/apps/{APP}/predict"}, 422, 0.002)
    observe({"path": "/metrics"}, 200, 0.001)
    log.flush()
    requests = read_frame(tmp_path, APP, "request")
    assert requests.select("route", "status").rows() == [("infer", 200), ("predict", 422)]
    assert seen == [200, 422, 200]
    beats = read_frame(tmp_path, SERVER, "resource")
    assert beats.height == 3 and set(beats.get_column("pid")) == {os.getpid()}


def test_no_log_means_the_observer_is_returned_unchanged() -> None:
    def observe(scope: Any, status: int, seconds: float) -> None:
        pass

    assert request_recorder(None, observe) is observe


def test_inputs_are_flattened_and_sampled(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    records = [{"pixels": [i, i + 1], "meta": {"kind": "a"}} for i in range(10)]
    record_inputs(log, APP, [f"r{i}" for i in range(10)], records, every=3)
    log.flush()
    frame = read_inputs(tmp_path, APP)
    assert frame.columns == ["pixels[0]", "pixels[1]", "meta.kind"]
    assert frame.get_column("pixels[0]").to_list() == [0, 3, 6, 9]


def test_a_torn_last_line_is_dropped(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    for i in range(5):
        log.add("request", APP, {"route": "infer", "status": 200, "latency_s": 0.001 * i})
    log.flush()
    path = next((tmp_path / "monitoring" / APP).glob("request-*.jsonl"))
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"route": "predict", "status": 2')
    assert read_frame(tmp_path, APP, "request").height == 5


def test_a_damaged_line_inside_a_file_is_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "monitoring" / APP
    folder.mkdir(parents=True)
    (folder / "request-2026-12-01-1.jsonl").write_text('{"ts": 1, "status": 200}\nnot json\n{"ts": 2, "status": 500}\n')
    assert read_frame(tmp_path, APP, "request").get_column("status").to_list() == [200, 500]


def test_nothing_recorded_reads_as_an_empty_frame(tmp_path: Path) -> None:
    assert read_frame(tmp_path, "nothing", "prediction").height == 0
    assert read_inputs(tmp_path, "nothing").height == 0


def test_resource_event_reports_this_process() -> None:
    event = resource_event()
    assert event["pid"] == os.getpid() and event["cpu_s"] > 0 and event["rss_bytes"] > 10 << 20


def test_a_type_that_changes_after_the_inferred_rows_still_reads(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(events_log, "INFER_ROWS", 5)
    folder = tmp_path / "monitoring" / APP
    folder.mkdir(parents=True)
    lines = [f'{{"ts": {i}, "label": {i}}}' for i in range(10)] + ['{"ts": 10, "label": "seven"}']
    (folder / "feedback-2026-12-01-1.jsonl").write_text("\n".join(lines) + "\n")
    labels = read_frame(tmp_path, APP, "feedback").get_column("label").cast(str).to_list()
    assert labels[-1] == "seven" and len(labels) == 11
