"""Which features aimed at the Handbook's scenarios help LightGBM on transactions only? An offline ablation.

    python benchmarks/bench_finance_feature_ideas.py --seeds 0 1 2
    python benchmarks/bench_finance_feature_ideas.py --seeds 0 --set lightgbm.num_leaves=31
    python benchmarks/bench_finance_feature_ideas.py --seeds 0 --search 14   # FraudApp.tune's space, LightGBM alone
    python benchmarks/bench_finance_feature_ideas.py --seeds 0 --reason-cost   # score + SHAP per payment by tree size

Same data, periods and LightGBM settings as `seek run finance-fraud --set simulator.devices=false --set
simulator.sessions=false` (plus any ``--set``); LightGBM alone is trained on the app's features, on them
without the terminal known-fraud ages (the features before issue 10), and with each candidate group added,
then scored on the test week with the Handbook's metrics (and on the validation week). Candidates (each
from information available at the payment's time; only the app's own are computed online):
- terminal known frauds: term_risk_w x term_known_count_w (the count the risk ratio hides), w = 1d, 7d, 30d;
- card known fraud: days since the card's last fraud whose label is known (delay passed);
- card-terminal pairs: the card's payments at this terminal in the last 30 days;
- amount vs the card's history before the last 7 days (mean over [t-30d, t-7d), amount / it, z-score).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

HANDBOOK = ["simulator.devices=false", "simulator.sessions=false"]


def candidates(frame, feats, delay):  # type: ignore[no-untyped-def]
    """``feats`` with every candidate column added (same row order)."""
    import polars as pl

    q = feats.select("transaction_id", "customer_id", (pl.col("timestamp") - delay).alias("q"))
    frauds = frame.filter(pl.col("is_fraud") == 1).select("customer_id", pl.col("timestamp").alias("at")).sort("at")
    card = (
        q.sort("q")
        .join_asof(frauds, left_on="q", right_on="at", by="customer_id", strategy="backward", allow_exact_matches=False)
        .select(
            "transaction_id", ((pl.col("q") - pl.col("at")).dt.total_seconds() / 86400).alias("cust_days_known_fraud")
        )
    )
    ordered = frame.select(
        "transaction_id", "customer_id", "terminal_id", "timestamp", (pl.col("amount") ** 2).alias("a2")
    )
    pairs = ordered.sort("customer_id", "terminal_id", "timestamp", "transaction_id")
    pair_count = pairs.rolling(
        index_column="timestamp", period="30d", group_by=["customer_id", "terminal_id"], closed="left"
    ).agg(pl.len().alias("pair_count_30d"))
    pairs = pairs.select("transaction_id").with_columns(pair_count["pair_count_30d"])
    cards = ordered.sort("customer_id", "timestamp", "transaction_id")
    squares = [
        cards.rolling(index_column="timestamp", period=p, group_by="customer_id", closed="left")
        .agg(pl.col("a2").sum().alias(f"ss_{p}"))
        .get_column(f"ss_{p}")
        for p in ("30d", "7d")
    ]
    cards = cards.select("transaction_id").with_columns(*squares)
    out = feats.join(card, on="transaction_id", how="left", maintain_order="left")
    out = out.join(pairs, on="transaction_id", how="left", maintain_order="left")
    out = out.join(cards, on="transaction_id", how="left", maintain_order="left")
    n_old = pl.col("cust_count_30d") - pl.col("cust_count_7d")
    mean_old = pl.when(n_old > 0).then((pl.col("cust_sum_30d") - pl.col("cust_sum_7d")) / n_old)
    var_old = (pl.col("ss_30d") - pl.col("ss_7d")) / n_old - mean_old**2
    return out.with_columns(
        *[(pl.col(f"term_risk_{w}") * pl.col(f"term_known_count_{w}")).alias(f"term_known_frauds_{w}")
          for w in ("1d", "7d", "30d")],
        mean_old.alias("cust_mean_7d_30d"),
        (pl.col("amount") / mean_old).alias("cust_amount_ratio_7d_30d"),
        pl.when(n_old > 1).then((pl.col("amount") - mean_old) / var_old.clip(lower_bound=1e-6).sqrt())
        .alias("cust_amount_z_7d_30d"),
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--set", dest="extra", action="append", default=[], help="config override (e.g. lightgbm)")
    parser.add_argument("--groups", nargs="*", help="only these groups (labels as printed)")
    parser.add_argument("--search", type=int, default=0, help="instead: N TPE trials of FraudApp.tune's space")
    parser.add_argument(
        "--reason-cost", action="store_true", help="instead: one-payment score + SHAP time per tree size"
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/finance_feature_ideas.json"))
    args = parser.parse_args()
    import polars as pl
    from sklearn.metrics import average_precision_score

    from seek.config import resolve_config
    from seek_finance import model as md
    from seek_finance.app import FraudConfig
    from seek_finance.data import simulated
    from seek_finance.evaluate import score_metrics
    from seek_finance.features import FIRST_FRAUD, LAST_FRAUD, compute_features, feature_names
    from seek_finance.pipeline import periods_for, split_rows

    results: dict = {"overrides": args.extra, "seeds": {}}
    for seed in args.seeds:
        config = resolve_config(FraudConfig, overrides=[*HANDBOOK, f"simulator.seed={seed}", *args.extra])
        tx = simulated(config)
        feats = candidates(tx.frame, compute_features(tx.frame, config.features), config.features.label_delay)
        app = feature_names(tx.frame.columns, config.features)
        groups = {
            "app features": app,
            "without the terminal known-fraud ages": [n for n in app if n not in (LAST_FRAUD, FIRST_FRAUD)],
            "+ terminal known frauds": [*app, "term_known_frauds_1d", "term_known_frauds_7d", "term_known_frauds_30d"],
            "+ card known fraud": [*app, "cust_days_known_fraud"],
            "+ card-terminal pairs": [*app, "pair_count_30d"],
            "+ amount vs history before 7 days": [
                *app, "cust_mean_7d_30d", "cust_amount_ratio_7d_30d", "cust_amount_z_7d_30d"
            ],
        }  # fmt: skip
        if args.groups:
            groups = {k: v for k, v in groups.items() if k in args.groups}
        split = split_rows(feats, periods_for(tx.frame, config), config, "simulator")
        if args.reason_cost:
            results["seeds"][seed] = reason_cost(feats, app, split, config)
            args.out.write_text(json.dumps(results, indent=1))
            continue
        if args.search:
            results["seeds"][seed] = search(feats, app, split, config, args.search)
            args.out.write_text(json.dumps(results, indent=1))
            continue
        y = feats.get_column("is_fraud").fill_null(0).to_numpy().astype(np.int64)
        scored = split.scored
        days = feats.get_column("timestamp").to_numpy()[scored].astype("datetime64[D]").astype(np.int64)
        cards = feats.get_column("customer_id").to_numpy()[scored]
        per_seed = results["seeds"].setdefault(seed, {})
        for label, names in groups.items():
            x = feats.select(names).cast(pl.Float64).to_numpy()
            train, val = split.train, split.val
            booster = md.train_lgbm(x[train], y[train], x[val], y[val], names, config.lightgbm, config.threads)
            spw = md.positive_weight(y[train], config.lightgbm.imbalance)
            m = score_metrics(y[scored], md.lgbm_scores(booster, x[scored], spw), days, cards, 0.5)
            row = {k: round(m[k], 4) for k in ("auc_roc", "average_precision", "card_precision_at_100")}
            row["val_average_precision"] = round(
                average_precision_score(y[val], md.lgbm_scores(booster, x[val], spw)), 4
            )
            per_seed[label] = row
            print(seed, label, row, flush=True)
            args.out.write_text(json.dumps(results, indent=1))


#: LightGBM before issue 10 and now (the app's default).
TREES = {
    "15 leaves / depth 6 / 50 per leaf / lr 0.1 (before)": {
        "num_leaves": 15, "max_depth": 6, "min_child_samples": 50, "learning_rate": 0.1
    },
    "63 leaves / depth 8 / 20 per leaf / lr 0.05 (now)": {
        "num_leaves": 63, "max_depth": 8, "min_child_samples": 20, "learning_rate": 0.05
    },
}  # fmt: skip


def reason_cost(feats, names, split, config, n=2000):  # type: ignore[no-untyped-def]
    """What the predictor's LightGBM part costs per payment (score + SHAP reason codes, one row per call, 1 thread).

    Reports wall and thread CPU time percentiles: on a loaded machine the thread's CPU time is the honest one.
    """
    import time

    import polars as pl

    from seek_finance import model as md

    y = feats.get_column("is_fraud").fill_null(0).to_numpy().astype(np.int64)
    x = feats.select(names).cast(pl.Float64).to_numpy()
    rows = x[np.flatnonzero(split.test)[:n]]
    out = {}
    for label, params in TREES.items():
        cfg = config.lightgbm.model_copy(update=params)
        booster = md.train_lgbm(x[split.train], y[split.train], x[split.val], y[split.val], names, cfg, config.threads)
        wall, cpu = [], []
        for row in rows:
            w0, c0 = time.perf_counter(), time.thread_time()
            booster.predict(row[None, :], raw_score=True, num_threads=1)
            contrib = md.lgbm_contributions(booster, row[None, :], threads=1)
            md.reason_codes(contrib, row[None, :], names, config.reasons_top_k)
            wall.append(time.perf_counter() - w0)
            cpu.append(time.thread_time() - c0)
        out[label] = {
            "trees": booster.num_trees(),
            **{f"{kind}_p{q}_ms": round(float(np.percentile(v, q)) * 1e3, 3)
               for kind, v in (("wall", wall), ("cpu", cpu)) for q in (50, 99)},
        }  # fmt: skip
        print(label, out[label], flush=True)
    return out


def search(feats, names, split, config, trials):  # type: ignore[no-untyped-def]
    """The search `seek tune finance-fraud` runs, on LightGBM alone: TPE, validation-week AP; test figures kept."""
    import optuna
    import polars as pl
    from sklearn.metrics import average_precision_score

    from seek.tuning import parse_space
    from seek_finance import model as md
    from seek_finance.app import FraudApp
    from seek_finance.evaluate import score_metrics

    space = parse_space([], FraudApp())
    y = feats.get_column("is_fraud").fill_null(0).to_numpy().astype(np.int64)
    x = feats.select(names).cast(pl.Float64).to_numpy()
    scored, train, val = split.scored, split.train, split.val
    days = feats.get_column("timestamp").to_numpy()[scored].astype("datetime64[D]").astype(np.int64)
    cards = feats.get_column("customer_id").to_numpy()[scored]

    def objective(trial: optuna.Trial) -> float:
        params = {name: param.suggest(trial, name) for name, param in space.items()}
        cfg = config.lightgbm.model_copy(update=params)
        booster = md.train_lgbm(x[train], y[train], x[val], y[val], names, cfg, config.threads)
        spw = md.positive_weight(y[train], cfg.imbalance)
        m = score_metrics(y[scored], md.lgbm_scores(booster, x[scored], spw), days, cards, 0.5)
        trial.set_user_attr(
            "test", {k: round(m[k], 4) for k in ("auc_roc", "average_precision", "card_precision_at_100")}
        )
        value = float(average_precision_score(y[val], md.lgbm_scores(booster, x[val], spw)))
        print(trial.number, params, round(value, 4), trial.user_attrs["test"], flush=True)
        return value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=5))
    study.enqueue_trial({"num_leaves": 15, "max_depth": 6, "min_child_samples": 50, "learning_rate": 0.1,
                         "feature_fraction": 0.8, "lambda_l2": 1.0})  # fmt: skip
    study.optimize(objective, n_trials=trials)
    return [{"params": t.params, "val_average_precision": t.value, "test": t.user_attrs["test"]} for t in study.trials]


if __name__ == "__main__":
    main()
