"""Does prequential validation pick better LightGBM settings than the one validation week? (issue 10)

    python benchmarks/bench_finance_prequential.py --seeds 0 1 2 --folds 4 --configs 12

For each simulator seed (Handbook mode: transactions only), the features are computed once; then for each
LightGBM setting (the default, the searched 63-leaf one, and random draws from the TuneSpec's space) it
trains, as `seek run` does, on the train period with early stopping on the validation week, and on each
earlier prequential fold (train + validation moved back one week per fold). It records the one-week
validation AP, the prequential mean, and the test-week AP of the fold-0 model (LightGBM alone, scored rows
as in metrics.json). Per seed, each criterion selects one setting; the table compares their test AP and the
rank correlation of each criterion with the test AP.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

HANDBOOK = ["simulator.devices=false", "simulator.sessions=false"]
DEFAULT: dict[str, float] = {}
SEARCHED = {"num_leaves": 63, "max_depth": 8, "min_child_samples": 20, "learning_rate": 0.05}


def draw(rng: random.Random) -> dict[str, float]:
    """One setting from the finance TuneSpec's space (same ranges, uniform / log-uniform)."""
    import math

    return {
        "num_leaves": rng.choice([7, 15, 31, 63]),
        "max_depth": rng.choice([4, 6, 8]),
        "min_child_samples": rng.randint(10, 200),
        "learning_rate": round(math.exp(rng.uniform(math.log(0.02), math.log(0.2))), 4),
        "feature_fraction": round(rng.uniform(0.5, 1.0), 3),
        "lambda_l2": round(rng.uniform(0.0, 10.0), 3),
    }


def spearman(a: list[float], b: list[float]) -> float:
    """Rank correlation (no ties expected among APs)."""
    import numpy as np

    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def evaluate_seed(seed: int, settings: list[dict[str, float]], folds: int) -> list[dict]:
    """Every setting's one-week, prequential and test AP on one simulator seed."""
    import numpy as np
    import polars as pl

    from seek.config import resolve_config
    from seek_finance import model as md
    from seek_finance.app import FraudConfig
    from seek_finance.data import simulated
    from seek_finance.features import compute_features, feature_names
    from seek_finance.pipeline import _ap, periods_for, prequential_periods, split_rows

    overrides = [*HANDBOOK, f"simulator.seed={seed}", f"protocol.prequential_folds={folds}"]
    config = resolve_config(FraudConfig, overrides=overrides)
    tx = simulated(config)
    periods = periods_for(tx.frame, config)
    feats = compute_features(tx.frame, config.features)
    names = feature_names(tx.frame.columns, config.features)
    x = feats.select(names).cast(pl.Float64).to_numpy()
    y = feats.get_column("is_fraud").fill_null(0).to_numpy().astype(np.int64)
    folds_periods = [periods, *prequential_periods(tx.frame, periods, config)]
    splits = [split_rows(feats, p, config, "simulator") for p in folds_periods]
    rows = []
    for setting in settings:
        cfg = config.lightgbm.model_copy(update=setting)
        started = time.perf_counter()
        aps, test_ap, trees = [], float("nan"), 0
        for k, split in enumerate(splits):
            train, val = split.train, split.val
            booster = md.train_lgbm(x[train], y[train], x[val], y[val], names, cfg, config.threads)
            spw = md.positive_weight(y[split.train], cfg.imbalance)
            aps.append(_ap(y[split.val], md.lgbm_scores(booster, x[split.val], spw)))
            if k == 0:
                test_ap = _ap(y[split.scored], md.lgbm_scores(booster, x[split.scored], spw))
                trees = booster.best_iteration
        seconds = round(time.perf_counter() - started, 1)
        rows.append({"setting": setting, "val_ap": aps[0], "prequential_ap": statistics.mean(aps), "fold_aps": aps,
                     "test_ap": test_ap, "trees": trees, "seconds": seconds})  # fmt: skip
        print(seed, json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--configs", type=int, default=12, help="settings in all: default, searched, random draws")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/finance_prequential.json"))
    args = parser.parse_args()
    rng = random.Random(0)
    settings = [DEFAULT, SEARCHED] + [draw(rng) for _ in range(args.configs - 2)]
    results: dict = {"folds": args.folds, "settings": settings, "seeds": {}}
    for seed in args.seeds:
        rows = evaluate_seed(seed, settings, args.folds)
        test = [r["test_ap"] for r in rows]
        pick = {c: max(range(len(rows)), key=lambda i, c=c: rows[i][c]) for c in ("val_ap", "prequential_ap")}
        results["seeds"][seed] = {
            "rows": rows,
            "picked": {c: {"index": i, "test_ap": test[i]} for c, i in pick.items()},
            "best_test_ap": max(test),
            "spearman": {c: spearman([r[c] for r in rows], test) for c in ("val_ap", "prequential_ap")},
        }
        args.out.write_text(json.dumps(results, indent=1))
    for c in ("val_ap", "prequential_ap"):
        picked = [s["picked"][c]["test_ap"] for s in results["seeds"].values()]
        rho = [s["spearman"][c] for s in results["seeds"].values()]
        results[f"mean_picked_test_ap_{c}"] = statistics.mean(picked)
        results[f"mean_spearman_{c}"] = statistics.mean(rho)
        print(c, "picked test AP", [round(p, 4) for p in picked], "spearman", [round(r, 3) for r in rho])
    args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
