"""Feature computation at scale: in memory vs chunked by time (30-day chunks), time and peak memory per size.

    python benchmarks/bench_finance_scale.py --sizes 5000 28500 --out benchmarks/results/finance_scale.json

A size is a number of simulated customers over 183 days (Handbook mode: transactions only; 5 000 customers
give ~1.75 M payments, 28 500 ~10 M). Each measurement runs in its own process (peak RSS is that process's
VmHWM) on the same parquet file; the chunked run writes each chunk's features to parquet and keeps nothing,
and the two outputs are compared value by value.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _child(kind: str, data: Path, out: Path) -> None:
    import polars as pl

    from seek_finance.app import FeatureConfig
    from seek_finance.chunked import compute_features_chunked
    from seek_finance.features import compute_features

    cfg = FeatureConfig()
    started = time.perf_counter()
    if kind == "memory":
        compute_features(pl.read_parquet(data), cfg).write_parquet(out / "memory.parquet")
    else:
        (out / "chunks").mkdir(exist_ok=True)
        for i, part in enumerate(compute_features_chunked(pl.scan_parquet(data), cfg, timedelta(days=30))):
            part.write_parquet(out / "chunks" / f"{i:04d}.parquet")
    print(json.dumps({"seconds": round(time.perf_counter() - started, 1), "peak_rss_mb": round(_peak_rss_mb())}))


def _measure(kind: str, data: Path, out: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(data), str(out)], capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _same(out: Path) -> bool:
    import polars as pl

    memory = pl.read_parquet(out / "memory.parquet")
    chunked = pl.read_parquet(out / "chunks" / "*.parquet")
    if memory.shape != chunked.shape:
        return False
    for name in memory.columns:
        a, b = memory.get_column(name), chunked.get_column(name)
        if a.dtype.is_float():
            if not ((a - b).abs().fill_null(0) <= 1e-9 * (1 + a.abs().fill_null(0))).all():
                return False
        elif not a.equals(b):
            return False
    return True


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 28500], help="customers per size")
    parser.add_argument("--no-memory-above", type=int, default=10**9, help="skip the in-memory run above N rows")
    parser.add_argument("--work", type=Path, default=Path("/tmp/finance-scale"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/finance_scale.json"))
    args = parser.parse_args()
    from seek_finance.app import SimulatorConfig
    from seek_finance.simulate import simulate

    results = []
    for customers in args.sizes:
        work = args.work / str(customers)
        work.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        sim = SimulatorConfig(n_customers=customers, n_days=183, devices=False, sessions=False)
        frame = simulate(sim).drop("fraud_scenario")
        frame.write_parquet(work / "tx.parquet")
        row = {"customers": customers, "payments": frame.height, "simulate_s": round(time.perf_counter() - started, 1)}
        del frame
        row["chunked"] = _measure("chunked", work / "tx.parquet", work)
        if row["payments"] <= args.no_memory_above:
            row["memory"] = _measure("memory", work / "tx.parquet", work)
            row["equal"] = _same(work)
        print(json.dumps(row), flush=True)
        results.append(row)
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
