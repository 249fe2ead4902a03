"""The server's background monitoring: drift gauges from recorded inputs, one daily report per day."""

from __future__ import annotations

import fcntl
from types import SimpleNamespace

from monitoring_day import APP
from prometheus_client import generate_latest

from seek.monitoring import daily
from seek.monitoring.metrics import Metrics
from seek.serving.registry import Registry
from seek.serving.settings import ServeSettings


def _state(root, reference_run):
    Registry(root).promote(reference_run, app=APP)
    state = SimpleNamespace(settings=ServeSettings(root=str(root)), registry=Registry(root), hosts={APP: None})
    state.metrics = Metrics(state)
    return state


def _psi(state) -> dict[str, float]:
    text = generate_latest(state.metrics.registry).decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("seek_feature_drift_psi{"):
            feature = line.split('feature="')[1].split('"')[0]
            out[feature] = float(line.rsplit(" ", 1)[1])
    return out


def test_drift_gauges_flag_a_shifted_day(shifted_day, reference_run):
    state = _state(shifted_day.root, reference_run)
    table = daily.publish_drift(state, APP)
    psi = _psi(state)
    assert "amount" in table.alerts and psi["amount"] > 0.25
    assert psi["channel"] < 0.1


def test_drift_gauges_stay_low_on_a_day_like_training(day, reference_run):
    state = _state(day.root, reference_run)
    daily.publish_drift(state, APP)
    assert all(value < 0.1 for value in _psi(state).values())


def test_daily_report_is_written_once_a_day_and_by_one_process(day, reference_run):
    state = _state(day.root, reference_run)
    lock = day.root / "monitoring" / ".daily.lock"
    with open(lock, "a") as held:  # another worker holds the lock: this one writes nothing
        fcntl.flock(held, fcntl.LOCK_EX)
        assert daily.daily_reports(state) == []
        fcntl.flock(held, fcntl.LOCK_UN)
    written = daily.daily_reports(state)
    assert len(written) == 1 and (written[0] / "report.md").is_file() and (written[0] / "matrix.json").is_file()
    assert daily.daily_reports(state) == []  # today's report exists
