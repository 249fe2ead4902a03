"""Would features aimed at the Handbook's scenarios help LightGBM on transactions only? An offline experiment.

    python benchmarks/bench_finance_feature_ideas.py --seed 0

Same data, periods and LightGBM settings as `seek run finance-fraud --set simulator.devices=false --set
simulator.sessions=false`; LightGBM alone is trained with the default features and with each group of
candidate features added, and scored on the test week with the Handbook's metrics. Candidates (each
computed from information available at the payment's time):
- terminal known frauds: term_risk_w x term_known_count_w (the count the risk ratio hides), w = 1d, 7d, 30d;
- terminal recency: seconds since the terminal's last fraud whose label is known (delay passed);
- amount vs card history: amount / card max over 30 days, amount - card mean over 30 days.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/finance_feature_ideas.json"))
    args = parser.parse_args()
    import polars as pl

    from seek.config import resolve_config
    from seek_finance import model as md
    from seek_finance.app import FraudConfig
    from seek_finance.data import simulated
    from seek_finance.evaluate import score_metrics
    from seek_finance.features import compute_features, feature_names
    from seek_finance.pipeline import periods_for, split_rows

    config = resolve_config(
        FraudConfig, overrides=["simulator.devices=false", "simulator.sessions=false", f"simulator.seed={args.seed}"]
    )
    tx = simulated(config)
    feats = compute_features(tx.frame, config.features)
    delay = config.features.label_delay
    frauds = tx.frame.filter(pl.col("is_fraud") == 1).select("terminal_id", pl.col("timestamp").alias("at")).sort("at")
    known = (
        feats.select("transaction_id", "terminal_id", (pl.col("timestamp") - delay).alias("q"))
        .sort("q")
        .join_asof(frauds, left_on="q", right_on="at", by="terminal_id", strategy="backward", allow_exact_matches=False)
        .select("transaction_id", (pl.col("q") - pl.col("at")).dt.total_seconds().alias("term_secs_since_known_fraud"))
    )
    feats = feats.join(known, on="transaction_id", how="left", maintain_order="left")
    feats = feats.with_columns(
        *[(pl.col(f"term_risk_{w}") * pl.col(f"term_known_count_{w}")).alias(f"term_known_frauds_{w}")
          for w in ("1d", "7d", "30d")],
        (pl.col("amount") / pl.col("cust_max_30d")).alias("cust_amount_to_max_30d"),
        (pl.col("amount") - pl.col("cust_mean_30d")).alias("cust_amount_minus_mean_30d"),
    )  # fmt: skip
    base = feature_names(tx.frame.columns, config.features)
    groups = {
        "default features": [],
        "+ terminal known frauds": ["term_known_frauds_1d", "term_known_frauds_7d", "term_known_frauds_30d"],
        "+ terminal recency": ["term_secs_since_known_fraud"],
        "+ amount vs card history": ["cust_amount_to_max_30d", "cust_amount_minus_mean_30d"],
    }
    groups["+ all three"] = [n for g in groups.values() for n in g]
    periods = periods_for(tx.frame, config)
    split = split_rows(feats, periods, config, "simulator")
    y = feats.get_column("is_fraud").fill_null(0).to_numpy().astype(np.int64)
    scored = split.scored
    days = feats.get_column("timestamp").to_numpy()[scored].astype("datetime64[D]").astype(np.int64)
    cards = feats.get_column("customer_id").to_numpy()[scored]
    results = {}
    for label, extra in groups.items():
        names = [*base, *extra]
        x = feats.select(names).cast(pl.Float64).to_numpy()
        booster = md.train_lgbm(x[split.train], y[split.train], x[split.val], y[split.val], names, config.lightgbm, 2)
        spw = md.positive_weight(y[split.train], config.lightgbm.imbalance)
        p = md.lgbm_scores(booster, x[scored], spw)
        m = score_metrics(y[scored], p, days, cards, 0.5)
        results[label] = {k: round(m[k], 4) for k in ("auc_roc", "average_precision", "card_precision_at_100")}
        print(label, results[label], flush=True)
        args.out.write_text(json.dumps({"seed": args.seed, "lightgbm_alone": results}, indent=1))


if __name__ == "__main__":
    main()
