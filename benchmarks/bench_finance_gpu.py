"""`seek run finance-fraud` (default config) on one device, timed by stage: run here with --device cpu and on the
lent H200 with --device cuda, then compare the two JSON files (BENCHMARKS.md, finance section).

Runs from a source checkout without installing (the device machine has no package registry): core/ and
plugins/finance/src are put on sys.path and the app is run through seek.runner.execute, the function
`seek run` calls.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "core"), str(ROOT / "plugins" / "finance" / "src")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    parser.add_argument("--out", type=Path, default=Path("/tmp/finance-bench-run"))
    parser.add_argument("--json", type=Path, help="write the result here too")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override KEY=VALUE")
    args = parser.parse_args()

    import torch

    from seek.config import resolve_config
    from seek.runner import execute
    from seek_finance.app import FraudApp

    app = FraudApp()
    config = resolve_config(app.Config, overrides=args.overrides)
    started = time.perf_counter()
    result = execute(app, config, out=args.out, device=args.device, seed=0, show_progress=False)
    wall = time.perf_counter() - started
    meta = json.loads((result.path / "run.json").read_text())
    metrics = json.loads((result.path / "metrics.json").read_text())
    out = {
        "device_recorded_in_run_json": meta["device"],
        "wall_s": round(wall, 1),
        "stages_s": {k: round(v, 1) for k, v in result.timings.items()},
        "metrics": {k: metrics[k] for k in (*app.headline, "seq_average_precision", "fusion_weight_lgbm")},
        "machine": platform.node(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "overrides": args.overrides,
    }
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
