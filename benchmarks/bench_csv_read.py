"""Reading + validating a 1M-row transactions CSV: this checkout's core vs a baseline commit, side by side.

    python benchmarks/bench_csv_read.py [--rows 1000000] [--baseline 06c8077] [--repeats 5]

The baseline's ``core/`` is extracted with ``git archive`` into a temp folder and imported through
PYTHONPATH in a child process; the two run alternately so machine load hits both alike. Also times the
line-level path this checkout takes for a damaged file (one ragged row in the middle).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, sys, time
from seek.data.frames import read_frame
from seek.data.schema import Field, Schema, apply_mapping, validate
schema = Schema([Field("transaction_id", "str", required=True), Field("timestamp", "datetime", required=True),
                 Field("customer_id", "str", required=True), Field("terminal_id", "str", required=True),
                 Field("amount", "float", required=True, min=0), Field("is_fraud", "int", allowed=[0, 1])])
mapping = {"transaction_id": "TRANSACTION_ID", "timestamp": "TX_DATETIME", "customer_id": "CUSTOMER_ID",
           "terminal_id": "TERMINAL_ID", "amount": "TX_AMOUNT", "is_fraud": "TX_FRAUD"}
t0 = time.perf_counter(); frame = read_frame(sys.argv[1], as_text=True); t1 = time.perf_counter()
kept, rejected = validate(apply_mapping(frame, mapping), schema); t2 = time.perf_counter()
print(json.dumps({"read": t1 - t0, "validate": t2 - t1, "kept": kept.height}))
"""

DAMAGED = r"""
import json, sys, time
from seek.data.frames import read_table
t0 = time.perf_counter(); table = read_table(sys.argv[1], as_text=True); t1 = time.perf_counter()
print(json.dumps({"read": t1 - t0, "kept": table.frame.height, "rejected": table.rejected.height}))
"""


def make_csv(path: Path, rows: int) -> None:
    """A Handbook-shaped transactions file."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(0)
    seconds = rng.integers(0, 86400 * 180, rows)
    stamps = (np.datetime64("2024-01-01T00:00:00") + seconds.astype("timedelta64[s]")).astype(str)
    pl.DataFrame(
        {
            "TRANSACTION_ID": np.arange(rows),
            "TX_DATETIME": [s.replace("T", " ") for s in stamps],
            "CUSTOMER_ID": rng.integers(0, 5000, rows),
            "TERMINAL_ID": rng.integers(0, 10000, rows),
            "TX_AMOUNT": np.round(rng.gamma(2, 30, rows), 2),
            "TX_FRAUD": rng.integers(0, 2, rows),
        }
    ).write_csv(path)


def child(code: str, path: Path, pythonpath: str | None) -> dict[str, float]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    out = subprocess.run([sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Print the medians for both cores and the ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline", default="06c8077")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv = folder / "tx.csv"
        make_csv(csv, args.rows)
        archive = subprocess.run(["git", "archive", args.baseline, "core"], cwd=root, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        times: dict[str, list[dict[str, float]]] = {"baseline": [], "now": []}
        for _ in range(args.repeats):
            times["baseline"].append(child(CHILD, csv, str(folder / "core")))
            times["now"].append(child(CHILD, csv, None))
        for name, runs in times.items():
            read = statistics.median(r["read"] for r in runs)
            check = statistics.median(r["validate"] for r in runs)
            print(f"{name:8s} read_frame(as_text) {read:.3f} s  validate {check:.3f} s  (median of {len(runs)})")
        for step in ("read", "validate"):
            ratio = statistics.median(r[step] for r in times["now"]) / statistics.median(
                r[step] for r in times["baseline"]
            )
            print(f"{step}: now / baseline = {ratio:.2f}x")
        lines = csv.read_bytes().split(b"\n")
        lines[len(lines) // 2] += b",extra"
        csv.write_bytes(b"\n".join(lines))
        damaged = child(DAMAGED, csv, None)
        print(f"damaged file (1 ragged row), line-level path: {damaged['read']:.2f} s, {damaged['rejected']} rejected")


if __name__ == "__main__":
    main()
