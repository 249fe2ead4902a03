"""Transactions-only finance runs (simulator in Handbook mode) over simulator seeds, and a one-seed ablation.

    python benchmarks/bench_finance_handbook.py --seeds 0 1 2 --out benchmarks/results/finance_handbook.json

Each run is `seek run finance-fraud --set simulator.devices=false --set simulator.sessions=false ...` (through
seek.runner.execute): the Handbook's generator and three scenarios, its test week 2018-08-08..14, 7-day delay.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

HANDBOOK = ["simulator.devices=false", "simulator.sessions=false"]
#: One change at a time against the default, on the first seed.
ABLATION = {
    "LightGBM as before issue 10 (15 leaves, depth 6, 50 per leaf, lr 0.1)": [
        "lightgbm.num_leaves=15",
        "lightgbm.max_depth=6",
        "lightgbm.min_child_samples=50",
        "lightgbm.learning_rate=0.1",
    ],
    "without the terminal known-fraud ages": ["features.fraud_ages=false"],
    "train 56 days (default 21)": ["protocol.train=56d"],
    "no sequence model (LightGBM alone)": ["sequence.enabled=false"],
}
KEYS = ("auc_roc", "average_precision", "card_precision_at_100", "recall_at_fpr_0_3pct", "seq_average_precision",
        "lgbm_average_precision", "lgbm_auc_roc", "fusion_weight_lgbm", "val_average_precision", "alerts_per_day",
        "alert_precision")  # fmt: skip


def run(overrides: list[str], root: Path, name: str) -> dict:
    """One default-size run with ``overrides``; its metrics and wall time."""
    from seek.config import resolve_config
    from seek.runner import execute
    from seek_finance.app import FraudApp

    app = FraudApp()
    config = resolve_config(app.Config, overrides=overrides)
    started = time.perf_counter()
    result = execute(app, config, out=root / name, device="cpu", seed=0, show_progress=False)
    metrics = result.report.metrics
    out = {k: metrics[k] for k in KEYS} | {"wall_s": round(time.perf_counter() - started, 1), "overrides": overrides}
    print(name, json.dumps(out), flush=True)
    return out


def auc_ceiling(seed: int) -> dict:
    """The AUC-ROC no model can beat in expectation on a seed's test week, and why.

    A compromised terminal (scenario 2) turns every payment fraud for 28 days, but nothing in a payment
    shows it until the first labels arrive ``label_delay`` later: until then its frauds look like any
    genuine payment and land, on average, in the middle of the ranking (AUC contribution 0.5). The rest
    ranked perfectly gives the ceiling 1 - 0.5 x hidden / frauds. Spells are approximated from the data
    (the first scenario-2 fraud of the terminal within the preceding 28 days).
    """
    import polars as pl

    from seek.config import resolve_config
    from seek_finance.app import FraudConfig
    from seek_finance.data import simulated
    from seek_finance.pipeline import periods_for, split_rows

    config = resolve_config(FraudConfig, overrides=[*HANDBOOK, f"simulator.seed={seed}"])
    frame = simulated(config).frame
    periods = periods_for(frame, config)
    scored = frame.filter(pl.Series(split_rows(frame, periods, config, "simulator").scored))
    s2 = frame.filter(pl.col("fraud_scenario") == 2).select("terminal_id", pl.col("timestamp").alias("s2"))
    window = pl.col("s2").is_between(pl.col("timestamp") - pl.duration(days=28), pl.col("timestamp"), closed="right")
    spell = (
        scored.filter(pl.col("fraud_scenario") == 2)
        .join(s2, on="terminal_id")
        .filter(window)
        .group_by("transaction_id", "timestamp")
        .agg(pl.col("s2").min().alias("spell_start"))
    )
    hidden = spell.filter(pl.col("timestamp") - pl.col("spell_start") < config.features.label_delay).height
    frauds = int(scored.get_column("is_fraud").sum())
    by_scenario = scored.filter(pl.col("is_fraud") == 1).group_by("fraud_scenario").len().sort("fraud_scenario")
    return {
        "frauds": frauds,
        "by_scenario": dict(zip(*by_scenario.to_dict(as_series=False).values(), strict=True)),
        "hidden_scenario_2": hidden,
        "auc_ceiling": round(1 - 0.5 * hidden / frauds, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--no-ablation", action="store_true")
    parser.add_argument("--ceiling", action="store_true", help="only the AUC-ROC ceiling of each seed (no runs)")
    parser.add_argument("--set", dest="extra", action="append", default=[], help="override for every run")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/finance_handbook.json"))
    parser.add_argument("--keep", type=Path, help="keep the run folders here (e.g. for bench_finance_online.py)")
    args = parser.parse_args()
    if args.ceiling:
        ceilings = {seed: auc_ceiling(seed) for seed in args.seeds}
        for seed, c in ceilings.items():
            print(seed, json.dumps(c), flush=True)
        mean = statistics.mean(c["auc_ceiling"] for c in ceilings.values())
        args.out.write_text(json.dumps({"seeds": ceilings, "mean_auc_ceiling": round(mean, 4)}, indent=1))
        print("mean ceiling", round(mean, 4))
        return
    results: dict = {"seeds": {}, "ablation": {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        for seed in args.seeds:
            results["seeds"][seed] = run([*HANDBOOK, f"simulator.seed={seed}", *args.extra], root, f"seed-{seed}")
            args.out.write_text(json.dumps(results, indent=1))
        if not args.no_ablation:
            for label, extra in ABLATION.items():
                name = f"ablation-{len(results['ablation'])}"
                overrides = [*HANDBOOK, f"simulator.seed={args.seeds[0]}", *args.extra, *extra]
                results["ablation"][label] = run(overrides, root, name)
                args.out.write_text(json.dumps(results, indent=1))
    per_key = {k: [r[k] for r in results["seeds"].values()] for k in KEYS}
    results["mean"] = {k: statistics.mean(v) for k, v in per_key.items()}
    results["spread"] = {k: (min(v), max(v)) for k, v in per_key.items()}
    args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
