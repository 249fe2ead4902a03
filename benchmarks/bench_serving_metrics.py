"""Overhead of Prometheus metrics (and event recording) on request latency, side by side in one process.

    OMP_NUM_THREADS=1 python benchmarks/bench_serving_metrics.py [--requests 3000]

Builds the same server twice (metrics on / off, event recording on / off) over one promoted
quickstart-digits run and sends single-record predict requests through the ASGI app in memory (no
network, so the difference is the server's own work), alternating blocks of 100 requests between
configurations so machine noise hits them alike. Writes benchmarks/results/serving_metrics.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

HERE = Path(__file__).parent
CONFIGS = {
    "metrics + events (default)": {"metrics": True, "record_events": True},
    "metrics only": {"metrics": True, "record_events": False},
    "neither": {"metrics": False, "record_events": False},
}


async def main(requests: int) -> dict:
    from sklearn.datasets import load_digits

    from seek.apps.digits import DigitsApp
    from seek.runner import execute
    from seek.serving.registry import Registry
    from seek.serving.server import create_app
    from seek.serving.settings import ServeSettings

    root = Path(tempfile.mkdtemp(prefix="seek-bench-metrics-"))
    app = DigitsApp()
    run = execute(app, app.Config.model_validate(app.tiny), out=root / "run", device="cpu", show_progress=False)
    Registry(root).promote(run.path)
    body = {"records": [{"pixels": load_digits().data[0].tolist()}]}
    apps, clients, contexts = {}, {}, []
    for name, flags in CONFIGS.items():
        asgi = create_app(ServeSettings(root=str(root), apps=["quickstart-digits"], auth=False, **flags))
        lifespan = asgi.app.router.lifespan_context(asgi.app)
        await lifespan.__aenter__()
        contexts.append(lifespan)
        apps[name] = asgi
        clients[name] = httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://bench")
    times: dict[str, list[float]] = {name: [] for name in CONFIGS}
    for name in CONFIGS:  # warm-up
        for _ in range(50):
            await clients[name].post("/v1/apps/quickstart-digits/predict", json=body)
    for _ in range(requests // 100):
        for name, client in clients.items():
            for _ in range(100):
                started = time.perf_counter()
                answer = await client.post("/v1/apps/quickstart-digits/predict", json=body)
                times[name].append(time.perf_counter() - started)
                assert answer.status_code == 200
    for client in clients.values():
        await client.aclose()
    for lifespan in contexts:
        await lifespan.__aexit__(None, None, None)
    base = float(np.median(times["neither"]))
    return {
        name: {
            "median_ms": round(float(np.median(t)) * 1000, 3),
            "p99_ms": round(float(np.percentile(t, 99)) * 1000, 3),
            "overhead_vs_neither_ms": round((float(np.median(t)) - base) * 1000, 3),
            "ratio_vs_neither": round(float(np.median(t)) / base, 3),
            "requests": len(t),
        }
        for name, t in times.items()
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    results = asyncio.run(main(args.requests))
    meta = {"date": time.strftime("%Y-%m-%d"), "python": platform.python_version(), "requests": args.requests}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "serving_metrics.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    for name, row in results.items():
        cells = [row["median_ms"], row["p99_ms"], f"{row['overhead_vs_neither_ms']:+}", row["ratio_vs_neither"]]
        print(f"| {name} | " + " | ".join(str(c) for c in cells) + " |")
