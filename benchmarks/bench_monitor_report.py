"""Cost of the daily monitoring report on a day of 1 M recorded predictions (issue 15).

Writes a day of events through the server's EventLog (1 M predictions and requests, 500 k feedback
labels, 100 k recorded inputs of 8 features) and a reference run, then times, each in a fresh process
(peak RSS from the OS): the full report (``seek.monitoring.report.write_report`` with plots and drift),
the same without plots, and, as the baseline, only reading the same prediction/request/feedback files
with the JSON-per-line reader (``seek.serving.events.read_events``) into frames.

    OMP_NUM_THREADS=1 python benchmarks/bench_monitor_report.py [--n 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from datetime import datetime, timedelta
mode, root, until, ref = sys.argv[1:5]
until = datetime.fromisoformat(until)
t0 = time.perf_counter()
if mode.startswith("report"):
    from seek.monitoring.report import write_report
    r = write_report(root, "bench", timedelta(days=1), until, reference_run=ref, out=root + "/out",
                     plots=mode == "report")
    info = {"predictions": r.matrix.quality.predictions, "labelled": r.matrix.quality.labelled,
            "drifted": r.drift.drifted, "p99_ms": r.matrix.efficiency.p99_ms}
else:
    import polars as pl
    from seek.serving.events import read_events
    frames = {k: pl.from_dicts(read_events(root, "bench", k)) for k in ("prediction", "request", "feedback")}
    info = {k: f.height for k, f in frames.items()}
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mib": peak, **info}))
"""


def record(root: Path, n: int, until: datetime) -> None:
    """A day of ``n`` predictions through the server's EventLog."""
    import numpy as np

    from seek.serving.events import EventLog

    rng = np.random.default_rng(0)
    log = EventLog(root)
    start = until.timestamp() - 86_400
    ts = np.sort(rng.uniform(start, until.timestamp() - 120, n))
    lat = rng.lognormal(np.log(0.004), 0.5, n)
    y = rng.random(n) < 0.05
    score = np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1)
    status = np.where(rng.random(n) < 0.002, 503, np.where(rng.random(n) < 0.01, 422, 200))
    amount = rng.lognormal(3, 1, n)
    for i in range(n):
        t = float(ts[i])
        log.add("request", "bench", {"route": "predict", "status": int(status[i]), "latency_s": float(lat[i]), "ts": t})
        pid = f"req{i}-0"
        log.add(
            "prediction",
            "bench",
            {
                "id": pid,
                "version": 1,
                "score": float(score[i]),
                "label": int(score[i] >= 0.5),
                "latency_s": float(lat[i]),
                "ts": t,
            },
        )
        if i % 2 == 0:
            log.add("feedback", "bench", {"id": pid, "label": int(y[i]), "ts": t + 60})
        if i % 10 == 0:
            feats = {f"f{k}": float(amount[i] * (k + 1)) for k in range(7)}
            log.add("input", "bench", {"id": pid, "features": {"amount": float(amount[i]), **feats}, "ts": t})
        if i % 100_000 == 99_999:
            log.flush()
    log.flush()


def reference_run(root: Path) -> Path:
    """A sealed run folder with the training reference of the recorded inputs' distribution."""
    import numpy as np
    import polars as pl

    from seek.artifacts import ArtifactWriter
    from seek.monitoring.reference import build_reference, save_reference
    from seek.runs import RunFolder

    amount = np.random.default_rng(1).lognormal(3, 1, 50_000)
    frame = pl.DataFrame({"amount": amount, **{f"f{k}": amount * (k + 1) for k in range(7)}})
    run = RunFolder(root / "train")
    run.write_json("run.json", {"app": "bench", "status": "finished"})
    save_reference(run, build_reference(frame), ArtifactWriter(run))
    run.seal()
    return run.path


def child(mode: str, root: Path, until: datetime, ref: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(root), until.isoformat(), str(ref)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    until = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        record(root, args.n, until)
        write_s = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in (root / "monitoring").rglob("*.jsonl"))
        ref = reference_run(root)
        rows = []
        for _ in range(args.repeats):  # interleaved, so machine load hits both alike
            rows.append(("report", child("report", root, until, ref)))
            rows.append(("report-noplots", child("report-noplots", root, until, ref)))
            rows.append(("baseline-read", child("baseline", root, until, ref)))
    print(f"recorded {args.n:,} predictions in {write_s:.1f} s ({size / 2**20:.0f} MiB of JSON lines)")
    for mode in ("report", "report-noplots", "baseline-read"):
        got = [r for m, r in rows if m == mode]
        secs = sorted(r["seconds"] for r in got)
        peak = max(r["peak_mib"] for r in got)
        print(f"{mode:14s} median {secs[len(secs) // 2]:.2f} s (min {secs[0]:.2f}) peak RSS {peak:.0f} MiB  {got[-1]}")
    rep = sorted(r["seconds"] for m, r in rows if m == "report")
    base = sorted(r["seconds"] for m, r in rows if m == "baseline-read")
    print(f"ratio baseline-read / full report (medians): {base[len(base) // 2] / rep[len(rep) // 2]:.2f}")
    print(f"max RSS of children: {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
