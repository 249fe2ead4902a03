"""Feature computation at scale: in memory vs partitioned by entity (and optionally chunked by time).

    nice -n 10 python benchmarks/bench_finance_scale.py --sizes 5000 28500 --out benchmarks/results/finance_scale.json
    nice -n 10 python benchmarks/bench_finance_scale.py --sizes 143000 --no-memory-above 12000000 \
        --out benchmarks/results/finance_scale_50m.json

A size is a number of simulated customers over 183 days (``--days``; the Handbook's period, Handbook mode: transactions
only; 5 000 customers give ~1.75 M payments, 28 500 ~10 M, 143 000 ~50 M), generated block by block of 7
days (``write_simulation``) into one parquet file. Each measurement runs in its own process (peak RSS is that
process's VmHWM) on that file and writes its features to parquet; the partitioned output is compared with
the in-memory one column by column (exact equality) where both ran; above ``--no-memory-above``, on
subsets instead (every 200th card's card features, every 200th terminal's terminal features).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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


def _child(kind: str, data: Path, out: Path, customers: int, days: int) -> None:
    import polars as pl

    from seek_finance.app import FeatureConfig, SimulatorConfig
    from seek_finance.chunked import compute_features_chunked
    from seek_finance.features import compute_features, feature_names
    from seek_finance.partitioned import write_features
    from seek_finance.simulate import write_simulation

    cfg = FeatureConfig()
    started = time.perf_counter()
    result: dict[str, object] = {}
    if kind == "simulate":
        sim = SimulatorConfig(n_customers=customers, n_days=days, devices=False, sessions=False)
        result["payments"] = write_simulation(data, sim, days_per_block=7)
    elif kind == "memory":
        compute_features(pl.read_parquet(data), cfg).write_parquet(out / "memory.parquet")
    elif kind == "partitioned":
        write_features(data, out / "partitioned.parquet", cfg, work=out / "work")
        result["features"] = len(feature_names(pl.scan_parquet(data).collect_schema().names(), cfg))
    else:
        (out / "chunks").mkdir(exist_ok=True)
        for i, part in enumerate(compute_features_chunked(pl.scan_parquet(data), cfg, timedelta(days=30))):
            part.write_parquet(out / "chunks" / f"{i:04d}.parquet")
    result |= {"seconds": round(time.perf_counter() - started, 1), "peak_rss_mb": round(_peak_rss_mb())}
    print(json.dumps(result))


def _measure(kind: str, data: Path, out: Path, customers: int, days: int) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(data), str(out), str(customers), str(days)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        return {"failed": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"rc {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _same(a_path: Path, b_path: Path) -> bool:
    """Exact equality of two parquet files, one column at a time (both whole files never in memory)."""
    import polars as pl

    a_cols = pl.scan_parquet(a_path).collect_schema().names()
    if a_cols != pl.scan_parquet(b_path).collect_schema().names():
        return False
    return all(pl.read_parquet(a_path, columns=[c]).equals(pl.read_parquet(b_path, columns=[c])) for c in a_cols)


def _spot(data: Path, out: Path, every: int = 200) -> bool:
    """Exact equality on entity subsets, for sizes no in-memory run fits: every ``every``-th card's card
    features from ``compute_features`` on all its payments, likewise every ``every``-th terminal's."""
    import polars as pl

    from seek_finance.app import FeatureConfig
    from seek_finance.features import compute_features, feature_names
    from seek_finance.partitioned import _owner

    cfg = FeatureConfig()
    names = feature_names(pl.scan_parquet(data).collect_schema().names(), cfg)
    for key, owner in (("customer_id", "customer"), ("terminal_id", "terminal")):
        picked = pl.col(key) % every == 0
        cols = ["transaction_id", *(n for n in names if _owner(n) == owner)]
        expected = compute_features(pl.scan_parquet(data).filter(picked).collect(), cfg).select(cols)
        got = pl.scan_parquet(out).filter(picked).select(cols).collect()
        if not expected.sort("transaction_id").equals(got.sort("transaction_id")):
            return False
    return True


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 28500], help="customers per size")
    parser.add_argument("--no-memory-above", type=int, default=12_000_000, help="skip the in-memory run above N rows")
    parser.add_argument("--days", type=int, default=183, help="simulated days (183: the Handbook's period)")
    parser.add_argument("--chunked", action="store_true", help="also time the 30-day time chunks")
    parser.add_argument("--work", type=Path, default=Path("/tmp/finance-scale"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/finance_scale.json"))
    args = parser.parse_args()
    results = []
    for customers in args.sizes:
        work = args.work / str(customers)
        work.mkdir(parents=True, exist_ok=True)
        data = work / "tx.parquet"
        load = round(os.getloadavg()[0], 1)
        row: dict[str, object] = {"customers": customers, "days": args.days, "load_before": load}
        sim = _measure("simulate", data, work, customers, args.days)
        row |= {"payments": sim.get("payments"), "simulate": sim}
        row["partitioned"] = _measure("partitioned", data, work, customers, args.days)
        if args.chunked:
            row["chunked"] = _measure("chunked", data, work, customers, args.days)
        if isinstance(row["payments"], int) and row["payments"] <= args.no_memory_above:
            row["memory"] = _measure("memory", data, work, customers, args.days)
            if (work / "memory.parquet").exists() and (work / "partitioned.parquet").exists():
                row["equal"] = _same(work / "memory.parquet", work / "partitioned.parquet")
        if "memory" not in row and (work / "partitioned.parquet").exists():
            row["spot_equal"] = _spot(data, work / "partitioned.parquet")
        row["load_after"] = round(os.getloadavg()[0], 1)
        print(json.dumps(row), flush=True)
        results.append(row)
        tmp = args.out.with_name(args.out.name + ".tmp")
        tmp.write_text(json.dumps(results, indent=1))
        tmp.replace(args.out)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
