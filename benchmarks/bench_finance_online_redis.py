"""Real-time fraud scoring with the online state in Redis vs in memory: p50/p99 per transaction, side by side.

    python benchmarks/bench_finance_online_redis.py --run runs/finance-fraud/<run>   # a finished run folder
    python benchmarks/bench_finance_online_redis.py --run RUN --url redis://host:6379/0   # an existing server

Without --url a throw-away redis-server is started on a free loopback port (no persistence). The same
run is loaded twice: once with the state in memory, once with ``SEEK_FINANCE_REDIS_URL`` set (history
replayed in memory, then copied into Redis). Both score the same payments (the run's last day moved one
day later), one per call, then the state alone (features + update, no model) on the day after.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import socket
import subprocess
import time
import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np


def _start_redis() -> tuple[subprocess.Popen, str]:
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server is not on PATH (apt-get install redis-server) or pass --url")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    import redis

    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            return proc, url
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    proc.terminate()
    raise SystemExit(f"redis-server on port {port} did not answer")


def _shifted(txs: list[dict], days: int) -> list[dict]:
    out = []
    for tx in txs:
        tx_id = tx["transaction_id"]
        new_id = tx_id + days * 10**9 if isinstance(tx_id, int) else f"{tx_id}+{days}d"
        out.append(dict(tx, timestamp=tx["timestamp"] + timedelta(days=days), transaction_id=new_id))
    return out


def _timed(fn, batch: list[dict]) -> np.ndarray:
    for tx in batch[:20]:  # warm-up
        fn(tx)
    latencies = []
    for tx in batch[20:]:
        t0 = time.perf_counter()
        fn(tx)
        latencies.append(time.perf_counter() - t0)
    return np.array(latencies) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="finished finance-fraud run folder")
    parser.add_argument("--url", help="Redis URL (default: start a throw-away redis-server)")
    parser.add_argument("--n", type=int, default=2000, help="transactions to score one by one")
    args = parser.parse_args()
    import polars as pl
    import torch

    from seek_finance.app import FraudApp
    from seek_finance.state_store import REDIS_NAMESPACE_ENV, REDIS_URL_ENV

    torch.set_num_threads(1)
    history = pl.read_parquet(args.run / "model/history.parquet")
    last_day = history["timestamp"].max().date()
    day = history.filter(pl.col("timestamp").dt.date() == last_day).drop(
        "step", "is_fraud", "label_available_at", strict=False
    )
    txs = day.to_dicts()
    txs = (txs * (args.n // max(len(txs), 1) + 1))[: args.n]
    scored, state_only = _shifted(txs, 1), _shifted(txs, 2)

    proc, url = (None, args.url) if args.url else _start_redis()
    rows = []
    try:
        for where in ("in memory", "Redis (loopback)"):
            os.environ.pop(REDIS_URL_ENV, None)
            if where != "in memory":
                os.environ[REDIS_URL_ENV] = url
                os.environ[REDIS_NAMESPACE_ENV] = f"bench-{uuid.uuid4().hex[:8]}"
            start = time.perf_counter()
            predictor = FraudApp().predictor(args.run)
            load_s = time.perf_counter() - start
            full = _timed(lambda tx, p=predictor: p.predict([tx]), scored)
            state = predictor.state
            feats = _timed(lambda tx, s=state: (s.features(tx), s.observe(tx)), state_only)
            rows.append((where, load_s, full, feats))
            del predictor, state  # the next load must not run beside this state's objects (GC scans them)
            gc.collect()
    finally:
        os.environ.pop(REDIS_URL_ENV, None)
        if proc is not None:
            proc.terminate()
            proc.wait()

    print(f"run: {args.run}, {history.height:,} payments of history; {len(scored) - 20} calls each\n")
    print(
        "| online state | load (s) | score one tx p50 (ms) | p99 (ms) "
        "| state only: features + update p50 (ms) | p99 (ms) |"
    )
    print("|---|---|---|---|---|---|")
    for where, load_s, full, feats in rows:
        print(
            f"| {where} | {load_s:.1f} | {np.percentile(full, 50):.2f} | {np.percentile(full, 99):.2f} | "
            f"{np.percentile(feats, 50):.3f} | {np.percentile(feats, 99):.3f} |"
        )
    (_, _, f_mem, s_mem), (_, _, f_red, s_red) = rows
    print(
        f"\np50 ratio Redis / memory: scoring {np.percentile(f_red, 50) / np.percentile(f_mem, 50):.2f}x, "
        f"state only {np.percentile(s_red, 50) / np.percentile(s_mem, 50):.1f}x"
    )


if __name__ == "__main__":
    main()
