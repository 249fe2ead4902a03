"""The logistics strategy table over several seeds: `seek run logistics-eta` (default size) once per seed.

Each seed changes both the simulated shipments (``simulator.seed``) and the run's seed (splits, model
initialisation, Fisher samples). Reported per strategy: decay, newest-quarter MAE, average MAE,
forgetting, mean update time and continual-state memory, as mean ± standard deviation over seeds, plus
the wall time of each whole run. Writes benchmarks/results/continual_logistics.{json,md}.

    OMP_NUM_THREADS=1 python benchmarks/bench_continual_logistics.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STRATEGIES = ("naive", "ewc", "online-ewc", "replay", "joint")
COLUMNS = (
    ("decay", "decay_{}", "{:+.1%}"),
    ("newest-quarter MAE (h)", "mae_last_quarter_{}", "{:.2f}"),
    ("average MAE (h)", "avg_mae_{}", "{:.2f}"),
    ("forgetting (h)", "forgetting_{}", "{:.2f}"),
    ("newest MAPE", "mape_last_quarter_{}", "{:.1%}"),
    ("update time (s)", "time_update_{}_s", "{:.2f}"),
    ("memory (KiB)", "state_bytes_{}", "{:.0f}"),
)


def run_once(seed: int, out: Path, extra: list[str]) -> tuple[dict[str, float], float]:
    """One default run; returns its metrics and wall seconds."""
    cmd = ["seek", "run", "logistics-eta", "--seed", str(seed), "--set", f"simulator.seed={seed}"]
    cmd += [*extra, "--out", str(out), "--no-progress", "--device", "cpu"]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    return json.loads((out / "metrics.json").read_text()), seconds


def _stat(values: list[float], fmt: str) -> str:
    mean = statistics.fmean(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{fmt.format(mean)} ± {fmt.format(spread).lstrip('+')}"


def main() -> None:
    """Run the seeds, print and save the Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="extra --set for every run")
    parser.add_argument("--name", default="continual_logistics", help="results file stem")
    args = parser.parse_args()
    extra = [x for pair in args.overrides for x in ("--set", pair)]
    runs, walls = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            metrics, seconds = run_once(seed, Path(tmp) / f"seed-{seed}", extra)
            runs.append(metrics)
            walls.append(seconds)
            print(f"seed {seed}: {seconds:.1f} s", file=sys.stderr)
    lines = ["| strategy | " + " | ".join(c[0] for c in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for name in STRATEGIES:
        key = name.replace("-", "_")
        cells = []
        for _, pattern, fmt in COLUMNS:
            values = [m[pattern.format(key)] / (1024 if pattern.startswith("state") else 1) for m in runs]
            cells.append(_stat(values, fmt))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    ratio = [m["mae_last_quarter_ewc"] / m["mae_last_quarter_naive"] - 1 for m in runs]
    lines += [
        "",
        f"EWC newest-quarter MAE vs naive: {_stat(ratio, '{:+.1%}')}; "
        f"EWC meets the target (decay <= 5% and newest within 5%) in {sum(m['ewc_meets_target'] for m in runs):.0f} "
        f"of {len(runs)} seeds.",
        f"Wall time of one `seek run logistics-eta` (seeds {args.seeds}): {_stat(walls, '{:.1f}')} s "
        f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}).",
    ]
    table = "\n".join(lines)
    print(table)
    results = Path(__file__).parent / "results"
    (results / f"{args.name}.md").write_text(table + "\n")
    (results / f"{args.name}.json").write_text(
        json.dumps({"seeds": args.seeds, "overrides": args.overrides, "wall_s": walls, "metrics": runs}, indent=1)
    )


if __name__ == "__main__":
    main()
