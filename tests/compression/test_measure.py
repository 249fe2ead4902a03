"""Latency percentiles and size on disk."""

from __future__ import annotations

import torch

from seek.compression.data import CompressionData
from seek.compression.measure import latencies_ms, measure, percentile, size_on_disk


def test_percentile_interpolates():
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile(list(map(float, range(101))), 99) == 99.0


def test_latencies_count_only_timed_calls_on_the_right_batch():
    seen = []

    def model(x, mask):
        seen.append(len(x))
        return x

    times = latencies_ms(model, torch.zeros(100, 2), None, 32, repeats=7, warmup=2)
    assert len(times) == 7 and set(seen) == {32}


def test_measure_reports_size_params_latency_and_quality(tmp_path):
    (tmp_path / "w.bin").write_bytes(b"x" * 1000)
    data = CompressionData(
        "m",
        {},
        {},
        {"x": torch.rand(50, 3), "y": torch.zeros(50)},
        lambda out, y: {"mean": float(out.mean())},
        "mean",
    )
    row = measure("orig", "torch fp32", lambda x, mask: x * 0, [tmp_path / "w.bin"], 3, data, repeats=10)
    assert row.size_bytes == 1000 == size_on_disk([tmp_path / "w.bin"])
    assert row.quality == {"mean": 0.0}
    assert 0 < row.p50_b1_ms <= row.p99_b1_ms and row.throughput > 0
