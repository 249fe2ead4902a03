"""Open-loop HTTP load generator (a separate process from the server): fixed request rate, latency from schedule.

    python benchmarks/bench_serving_load.py URL --rate 200 --duration 60 --body body.json

Each request is scheduled at ``t0 + i / rate`` and its latency counted from that scheduled time, so a
server that falls behind shows it in p99 (no coordinated omission). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import httpx
import numpy as np


async def run(url: str, rate: float, duration: float, body: bytes, concurrency: int) -> dict:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:
        total = int(rate * duration)
        t0 = time.perf_counter() + 0.2

        async def one(i: int) -> None:
            scheduled = t0 + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                answer = await client.post(url, content=body, headers=headers)
                if answer.status_code != 200:
                    errors[str(answer.status_code)] = errors.get(str(answer.status_code), 0) + 1
                    return
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                return
            latencies.append(time.perf_counter() - scheduled)

        started = time.perf_counter()
        tasks = [asyncio.ensure_future(one(i)) for i in range(total)]
        _, late = await asyncio.wait(tasks, timeout=duration + 15.0)  # bounded: what is still waiting failed
        for task in late:
            task.cancel()
        if late:
            errors["unanswered"] = len(late)
        elapsed = min(time.perf_counter() - started, duration + 15.0)
    lat = np.asarray(latencies) * 1000
    return {
        "rate": rate,
        "duration_s": duration,
        "sent": total,
        "ok": len(latencies),
        "errors": errors,
        "achieved_rps": round(len(latencies) / max(elapsed - 0.2, 1e-9), 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 2) if len(lat) else None,
        "p99_ms": round(float(np.percentile(lat, 99)), 2) if len(lat) else None,
        "max_ms": round(float(lat.max()), 2) if len(lat) else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--body", required=True)
    parser.add_argument("--concurrency", type=int, default=256)
    args = parser.parse_args()
    body = Path(args.body).read_bytes()
    print(json.dumps(asyncio.run(run(args.url, args.rate, args.duration, body, args.concurrency))))


if __name__ == "__main__":
    main()
