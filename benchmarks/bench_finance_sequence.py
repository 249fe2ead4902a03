"""The finance sequence model's design choices, one at a time, on one simulated data set (features and LightGBM once).

    python benchmarks/bench_finance_sequence.py --data multimodal --seed 0
    python benchmarks/bench_finance_sequence.py --data handbook --seed 0 --variants default all-payments

The data, features, periods, LightGBM and the sequence model are those of `seek run finance-fraud` (the same
functions; `--data handbook` = `--set simulator.devices=false --set simulator.sessions=false`). Each variant
retrains only the sequence model with its `--set` overrides and reports its test-week AP alone and fused with
LightGBM (logit fusion, weight chosen on the validation week, as the app does). The variant
"no session counts in the steps" removes the per-payment session counts from the step vectors, so that
the session's information reaches the model only through the event positions (an ablation, not a setting).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

#: name: (overrides, steps without session counts)
VARIANTS: dict[str, tuple[list[str], bool]] = {
    "default": ([], False),
    "pooled readout (mean of positions)": (["sequence.readout=mean"], False),
    "old settings (15,000 sequences, 2 epochs, mean readout, no events)": (
        [
            "sequence.max_train=15000",
            "sequence.trainer.epochs=2",
            "sequence.trainer.batch_size=256",
            "sequence.trainer.lr=2e-3",
            "sequence.dropout=0.1",
            "sequence.readout=mean",
            "sequence.events=0",
        ],
        False,
    ),
    "no event positions": (["sequence.events=0"], False),
    "no session counts in the steps": ([], True),
    "no session counts, no event positions": (["sequence.events=0"], True),
    "hierarchy (full_attention_below=0, the default before the quiet-machine latency rerun)": (
        ["sequence.full_attention_below=0"],
        False,
    ),
    "all-payments": (
        ["sequence.max_train=0", "sequence.trainer.batch_size=1024", "sequence.trainer.lr=4e-3"],
        False,
    ),
}
_OLD = VARIANTS["old settings (15,000 sequences, 2 epochs, mean readout, no events)"][0]
VARIANTS["k=32, old settings"] = ([*_OLD, "sequence.k=32", "sequence.segment=32"], False)
VARIANTS["k=32, old settings but the current readout"] = (
    [*_OLD, "sequence.k=32", "sequence.segment=32", "sequence.readout=current"],
    False,
)
HANDBOOK = ["simulator.devices=false", "simulator.sessions=false"]


class _Context:
    """What train_and_score needs from a RunContext: a CPU Trainer without a run folder."""

    seed, resume, logger = 0, False, logging.getLogger("bench")

    def trainer_config(self, **values: Any) -> Any:
        from seek.training import TrainerConfig

        values.setdefault("seed", self.seed)
        return TrainerConfig(**values)

    def trainer(self, model: Any, config: Any, name: str | None = None, **kwargs: Any) -> Any:
        from seek.training import Trainer

        return Trainer(model, config, device="cpu", progress=False, **kwargs)


def prepare(base: list[str], cache: Path | None = None) -> dict[str, Any]:
    """Simulate, build features, split and train LightGBM once (as the app's pipeline does); reuse ``cache``."""
    import numpy as np
    import polars as pl

    from seek_finance.pipeline import Split

    if cache is not None and (cache / "arr.npz").exists():
        arrays = np.load(cache / "arr.npz")
        split = Split(arrays["train"], arrays["val"], arrays["test"], arrays["test"] & ~arrays["scored"])
        return {
            "feats": pl.read_parquet(cache / "feats.parquet"),
            "names": json.loads((cache / "names.json").read_text()),
            "split": split,
            "y": arrays["y"],
            "p_lgbm": arrays["p_lgbm"],
            "evaluated": arrays["ev"],
        }

    from seek.config import resolve_config
    from seek_finance import model as md
    from seek_finance.app import FraudConfig
    from seek_finance.data import simulated
    from seek_finance.features import compute_features, feature_names
    from seek_finance.pipeline import _test_rows, periods_for, split_rows

    config = resolve_config(FraudConfig, overrides=base)
    frame = simulated(config).frame
    periods = periods_for(frame, config)
    feats = compute_features(frame, config.features)
    names = feature_names(frame.columns, config.features)
    split = split_rows(feats, periods, config, "simulator")
    y = feats.get_column("is_fraud").fill_null(0).to_numpy().astype(np.int64)
    x = feats.select(names).cast(pl.Float64).to_numpy()
    booster = md.train_lgbm(x[split.train], y[split.train], x[split.val], y[split.val], names, config.lightgbm, 2)
    p_lgbm = md.lgbm_scores(booster, x, md.positive_weight(y[split.train], config.lightgbm.imbalance))
    evaluated = split.val | split.test | _test_rows(feats, periods)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        feats.write_parquet(cache / "feats.parquet")
        (cache / "names.json").write_text(json.dumps(names))
        np.savez(
            cache / "arr.npz", y=y, ev=evaluated, p_lgbm=p_lgbm, train=split.train, val=split.val, test=split.test,
            scored=split.scored,
        )  # fmt: skip
    return {"feats": feats, "names": names, "split": split, "y": y, "p_lgbm": p_lgbm, "evaluated": evaluated}


def variant(data: dict[str, Any], overrides: list[str], no_session_steps: bool) -> dict[str, Any]:
    """Train the sequence model with ``overrides``; its test AP alone and fused (logit fusion)."""
    from sklearn.metrics import average_precision_score

    from seek.config import resolve_config
    from seek_finance import model as md
    from seek_finance.app import FraudConfig
    from seek_finance.sequence import train_and_score

    config = resolve_config(FraudConfig, overrides=overrides)
    split, y, p_lgbm = data["split"], data["y"], data["p_lgbm"]
    spec = md.step_spec
    if no_session_steps:
        md.step_spec = lambda f: [s for s in spec(f) if not s[0].startswith("session_")]  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        ctx: Any = _Context()
        seq = train_and_score(config, ctx, data["feats"], data["names"], y, split.train, data["evaluated"])
        seconds = time.perf_counter() - started
    finally:
        md.step_spec = spec  # type: ignore[assignment]
    assert seq is not None
    fusion = md.Fusion.fit("logit", y[split.val], p_lgbm[split.val], seq.probs[split.val], seq.shift)
    fused = fusion(p_lgbm, seq.probs)
    s = split.scored
    return {
        "seq_average_precision": round(float(average_precision_score(y[s], seq.probs[s])), 4),
        "lgbm_average_precision": round(float(average_precision_score(y[s], p_lgbm[s])), 4),
        "fused_average_precision": round(float(average_precision_score(y[s], fused[s])), 4),
        "fusion_weight_lgbm": fusion.weight,
        "train_sequences": seq.train_sequences,
        "positions": seq.k + seq.events,
        "seconds": round(seconds, 1),
        "overrides": overrides,
        "no_session_steps": no_session_steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["multimodal", "handbook"], default="multimodal")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), help="names (or prefixes) from VARIANTS")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/finance_sequence.json"))
    parser.add_argument("--cache", type=Path, help="folder keeping the features and LightGBM scores between runs")
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    base = [*(HANDBOOK if args.data == "handbook" else []), f"simulator.seed={args.seed}"]
    data = prepare(base, args.cache)
    results: dict[str, Any] = {"data": args.data, "seed": args.seed, "variants": {}}
    for wanted in args.variants:
        name = next(n for n in VARIANTS if n.startswith(wanted))
        overrides, no_session = VARIANTS[name]
        results["variants"][name] = variant(data, [*base, *overrides], no_session)
        print(name, json.dumps(results["variants"][name]), flush=True)
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
