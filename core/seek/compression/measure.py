"""What the comparison report measures, in one process on the same held-out data: size, weights, speed, quality."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from seek.compression.data import CompressionData

Model = Callable[..., Any]


@dataclass
class Measurement:
    """One model's row in the comparison: bytes on disk, weights, CPU latency and throughput, quality."""

    name: str
    runtime: str
    size_bytes: int
    parameters: int
    p50_b1_ms: float
    p99_b1_ms: float
    p50_b32_ms: float
    p99_b32_ms: float
    throughput: float  # samples per second at batch 32
    quality: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON form for comparison.json."""
        return asdict(self)


def size_on_disk(paths: Iterable[Path]) -> int:
    """Total bytes of the files an artifact consists of."""
    return sum(Path(p).stat().st_size for p in paths)


def latencies_ms(model: Model, x: Any, mask: Any, batch: int, repeats: int, warmup: int = 5) -> list[float]:
    """Wall time of ``repeats`` calls on consecutive ``batch``-sized slices of the held-out inputs (ms each)."""
    import torch

    n = len(x)
    slices = [(i % n, min(i % n + batch, n)) for i in range(0, batch * (repeats + warmup), batch)]
    slices = [(a, b) if b - a == batch or n < batch else (0, batch) for a, b in slices]
    times = []
    with torch.inference_mode():
        for i, (a, b) in enumerate(slices):
            xb = x[a:b]
            mb = None if mask is None else mask[a:b]
            start = time.perf_counter()
            model(xb, mb)
            if i >= warmup:
                times.append((time.perf_counter() - start) * 1e3)
    return times


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def outputs(model: Model, x: Any, mask: Any, batch: int = 256) -> Any:
    """The model's outputs over all of ``x``, in batches."""
    import torch

    parts = []
    with torch.inference_mode():
        for start in range(0, len(x), batch):
            mb = None if mask is None else mask[start : start + batch]
            parts.append(model(x[start : start + batch], mb).float())
    return torch.cat(parts)


def measure(
    name: str,
    runtime: str,
    model: Model,
    files: Iterable[Path],
    parameters: int,
    data: CompressionData,
    repeats: int = 200,
    threads: int = 1,
) -> Measurement:
    """Measure ``model`` on the held-out split of ``data`` with ``threads`` torch threads."""
    import torch

    x, mask = data.inputs("test")
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        quality = data.metrics(outputs(model, x, mask), data.test["y"])
        b1 = latencies_ms(model, x, mask, 1, repeats)
        b32 = latencies_ms(model, x, mask, 32, max(20, repeats // 4))
    finally:
        torch.set_num_threads(previous)
    return Measurement(
        name=name,
        runtime=runtime,
        size_bytes=size_on_disk(files),
        parameters=parameters,
        p50_b1_ms=percentile(b1, 50),
        p99_b1_ms=percentile(b1, 99),
        p50_b32_ms=percentile(b32, 50),
        p99_b32_ms=percentile(b32, 99),
        throughput=32 * 1e3 / statistics.mean(b32),
        quality=quality,
    )
