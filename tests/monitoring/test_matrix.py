"""The evaluation matrix from a recorded day of requests and feedback (seek.monitoring.matrix, events_log)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from seek.monitoring.events_log import read_frame
from seek.monitoring.matrix import compute_matrix, quality, read_window

APP, N = "toy-fraud", 1440  # as recorded by conftest.record_day
Day = Any


def test_matrix_of_a_recorded_day(day: Day) -> None:
    window = read_window(day.root, APP, day.until - timedelta(days=1), day.until)
    matrix = compute_matrix(APP, window, day.until - timedelta(days=1), day.until)
    q, e, s = matrix.quality, matrix.efficiency, matrix.stability
    ok = sum(1 for c in day.status if c == 200)
    assert q.predictions == ok and q.labelled == len(day.truth) and q.task == "binary"
    ids = sorted(day.truth)
    y = np.array([day.truth[i] for i in ids])
    score = np.array([day.scores[i] for i in ids])
    pred = (score >= 0.5).astype(int)
    assert q.accuracy == pytest.approx((pred == y).mean())
    assert q.precision == pytest.approx(precision_score(y, pred))
    assert q.recall == pytest.approx(recall_score(y, pred))
    assert q.f1 == pytest.approx(f1_score(y, pred))
    assert q.auc == pytest.approx(roc_auc_score(y, score))
    lat = np.array(day.latency)
    assert e.requests == N and e.latency_source == "requests"
    assert e.p50_ms == pytest.approx(1000 * np.quantile(lat, 0.5), abs=1e-3)
    assert e.p99_ms == pytest.approx(1000 * np.quantile(lat, 0.99), abs=1e-3)
    assert e.throughput_rps == pytest.approx(N / (60 * (N - 1)))
    assert e.peak_rps == pytest.approx(1 / 60)
    assert e.cpu_cores == pytest.approx(2 * 864 / (86_400 - 60), abs=1e-3)  # rounded to 3 places
    assert e.rss_mb_peak == pytest.approx(300.0)
    assert (s.requests, s.server_errors, s.abnormal) == (N, 15, 29)
    assert s.error_rate == pytest.approx(44 / N)
    assert s.abnormal_ratio == pytest.approx(29 / N)
    assert s.availability == pytest.approx(1 - 15 / N)


def test_the_window_excludes_events_before_since(day: Day) -> None:
    half = day.start + timedelta(hours=12)
    window = read_window(day.root, APP, half, day.until)
    assert window.requests.height == N // 2
    assert read_frame(day.root, APP, "request", half, day.until).get_column("ts").min() >= half.timestamp()


def test_quality_on_multiclass_labels_is_macro_and_has_no_auc() -> None:
    preds = pl.DataFrame(
        {"id": ["a", "b", "c", "d"], "label": [3, 5, 5, 7], "score": [0.9, 0.8, 0.6, 0.7], "ts": [1.0] * 4}
    )
    feedback = pl.DataFrame({"id": ["a", "b", "c", "d", "zz"], "label": [3, 5, 7, 7, 1], "ts": [2.0] * 5})
    q = quality(preds, feedback)
    assert q.task.startswith("multiclass") and q.labelled == 4 and q.accuracy == pytest.approx(0.75) and q.auc is None
    assert q.f1 == pytest.approx(f1_score(["3", "5", "7", "7"], ["3", "5", "5", "7"], average="macro"))


def test_the_last_feedback_label_wins() -> None:
    preds = pl.DataFrame({"id": ["a", "b"], "label": [1, 0], "score": [0.9, 0.1], "ts": [1.0, 1.0]})
    feedback = pl.DataFrame({"id": ["a", "a", "b"], "label": [0, 1, 0], "ts": [2.0, 3.0, 2.0]})
    assert quality(preds, feedback).accuracy == 1.0
