"""Real-time fraud scoring: single-transaction latency (p50/p99) and throughput of the in-process predictor.

    python benchmarks/bench_finance_online.py --run runs/finance-fraud/<run>   # a finished run folder
    python benchmarks/bench_finance_online.py                                   # trains a tiny run first

The predictor replays the run's saved history, then scores the last day of that history again, moved
one day later with new ids, one transaction per call (features from the online state, LightGBM with
per-row SHAP reasons, the sequence model, fusion, state update). Compared side by side with the naive
way to score one payment: recomputing the polars features over the card's, terminal's and device's
history for each call.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np


def _tiny_run(root: Path) -> Path:
    from seek.runner import execute
    from seek_finance.app import FraudApp

    app = FraudApp()
    return execute(app, app.Config.model_validate(app.tiny), out=root / "run", device="cpu", show_progress=False).path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="finished finance-fraud run folder")
    parser.add_argument("--n", type=int, default=2000, help="transactions to score one by one")
    parser.add_argument("--naive", type=int, default=50, help="transactions scored by recomputing features")
    args = parser.parse_args()
    import polars as pl
    import torch

    from seek_finance.app import FraudApp
    from seek_finance.features import FeatureConfig, compute_features

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        run = args.run or _tiny_run(Path(tmp))
        start = time.perf_counter()
        predictor = FraudApp().predictor(run)
        load_s = time.perf_counter() - start
        history = pl.read_parquet(Path(run) / "model/history.parquet")
    last_day = history["timestamp"].max().date()
    day = history.filter(pl.col("timestamp").dt.date() == last_day).drop(
        "step", "is_fraud", "label_available_at", strict=False
    )
    offset = int(history["transaction_id"].max()) + 1 if history["transaction_id"].dtype.is_integer() else 0
    txs = day.with_columns(
        pl.col("timestamp") + timedelta(days=1),
        (pl.col("transaction_id") + offset) if offset else pl.col("transaction_id"),
    ).to_dicts()
    txs = (txs * (args.n // max(len(txs), 1) + 1))[: args.n] if len(txs) < args.n else txs[: args.n]

    def measure(batch: list[dict]) -> tuple[np.ndarray, float]:
        for tx in batch[:20]:  # warm-up: first calls pay for lazy initialisation
            predictor.predict([tx])
        latencies = []
        wall = time.perf_counter()
        for tx in batch[20:]:
            t0, c0 = time.perf_counter(), time.thread_time()
            predictor.predict([tx])
            latencies.append(time.perf_counter() - t0)
            cpu_ms.append((time.thread_time() - c0) * 1e3)
        return np.array(latencies) * 1e3, time.perf_counter() - wall

    # CPU time of the scoring thread per call: what a payment costs, without the waits of a shared machine.
    cpu_ms: list[float] = []

    served = predictor.uses_sequence
    ms, wall = measure(txs)
    forced = None
    if predictor.seq_model is not None and not served:
        # The fusion gave the sequence model no weight, so serving skips it; measure it switched on too.
        predictor.uses_sequence = True
        later = [
            dict(tx, timestamp=tx["timestamp"] + timedelta(days=1), transaction_id=tx["transaction_id"] + 10**9)
            if isinstance(tx["transaction_id"], int)
            else dict(tx, timestamp=tx["timestamp"] + timedelta(days=1))
            for tx in txs
        ]
        forced = measure(later)

    # Baseline: recompute the offline features over the history of the entities involved, per call.
    cfg = FeatureConfig.model_validate(predictor.scorer["feature_config"])
    base = history.drop("step", "label_available_at", strict=False)
    naive = []
    for tx in txs[20 : 20 + args.naive]:  # features only: the part the online state replaces
        t0 = time.perf_counter()
        related = base.filter(
            (pl.col("customer_id") == tx["customer_id"])
            | (pl.col("terminal_id") == tx["terminal_id"])
            | ((pl.col("device_id") == tx.get("device_id")) if "device_id" in base.columns else False)
        )
        row = pl.DataFrame([tx]).with_columns(
            pl.lit(None, dtype=pl.Int8).alias("is_fraud"), pl.col("timestamp").cast(pl.Datetime("us"))
        )
        compute_features(pl.concat([related, row.select(related.columns)], how="vertical_relaxed"), cfg)
        naive.append(time.perf_counter() - t0)
    naive_ms = np.array(naive) * 1e3

    print(f"run: {run}\npredictor load (history replay): {load_s:.1f} s, {history.height:,} payments\n")
    print("| scoring one transaction | p50 (ms) | p99 (ms) | mean (ms) | throughput (tx/s, one per call) |")
    print("|---|---|---|---|---|")
    label = "online state + LightGBM + SHAP reasons" + (
        " + sequence model" if served else " (fusion weight 1: sequence model skipped)"
    )
    print(
        f"| {label} | {np.percentile(ms, 50):.2f} | {np.percentile(ms, 99):.2f} | {ms.mean():.2f} | "
        f"{len(ms) / wall:.0f} |"
    )
    if forced is not None:
        f_ms, f_wall = forced
        print(
            f"| the same + sequence model forward (K={predictor.k}) | {np.percentile(f_ms, 50):.2f} | "
            f"{np.percentile(f_ms, 99):.2f} | {f_ms.mean():.2f} | {len(f_ms) / f_wall:.0f} |"
        )
    print(
        f"| baseline: recompute polars features from history, per call | {np.percentile(naive_ms, 50):.2f} | "
        f"{np.percentile(naive_ms, 99):.2f} | {naive_ms.mean():.2f} | {1000 / naive_ms.mean():.0f} |"
    )
    cpu = np.array(cpu_ms)
    print(
        f"| CPU time of the scoring thread per call (all calls above) | {np.percentile(cpu, 50):.2f} | "
        f"{np.percentile(cpu, 99):.2f} | {cpu.mean():.2f} | - |"
    )
    print(
        f"\np50 ratio baseline / online: {np.percentile(naive_ms, 50) / np.percentile(ms, 50):.1f}x "
        f"({len(ms)} online calls, {len(naive_ms)} baseline calls)"
    )


if __name__ == "__main__":
    main()
