"""What ``seek run finance-fraud`` does, stage by stage: data, features, LightGBM, sequence model, evaluate, report.

A resumed run recomputes every stage before the sequence model (they are deterministic for a seed) and
continues the sequence model from its last checkpoint.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from seek.app import Report, RunContext
from seek.errors import ConfigError, DataError
from seek_finance.app import FraudConfig

if TYPE_CHECKING:
    import polars as pl

    from seek_finance.evaluate import Periods
    from seek_finance.sequence import SequenceResult


@dataclass
class Split:
    """Row masks over the feature frame (time order): labelled rows of each period, and the scored test rows."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    known: np.ndarray

    @property
    def scored(self) -> np.ndarray:
        """Test rows the metrics use: labelled, cards not already known to be compromised."""
        return self.test & ~self.known


@dataclass
class Scores:
    """Each model's probabilities (NaN outside the validation and test periods) and the fused one."""

    lgbm: np.ndarray
    seq: np.ndarray | None
    fused: np.ndarray
    threshold: float


def periods_for(frame: pl.DataFrame, config: FraudConfig) -> Periods:
    """The protocol's periods for this data; a train period starting before the data is a ConfigError."""
    from seek_finance.evaluate import Periods

    p = config.protocol
    if p.test_start is not None:
        start = dt.datetime.combine(p.test_start, dt.time())
    else:  # the last `test` of data, ending at the midnight after the last payment
        end = dt.datetime.combine(frame.get_column("timestamp").max().date(), dt.time()) + dt.timedelta(days=1)
        start = end - p.test
    periods = Periods.before_test(start, p.train, p.validation, config.features.label_delay, p.test)
    first = frame.get_column("timestamp").min()
    if periods.train_start < first:
        raise ConfigError(
            f"protocol: the train period starts {periods.train_start:%Y-%m-%d} but the data begins {first:%Y-%m-%d}; "
            "shorten protocol.train/protocol.validation or move protocol.test_start later"
        )
    return periods


def prequential_periods(frame: pl.DataFrame, periods: Periods, config: FraudConfig) -> list[Periods]:
    """Folds 1.. of prequential validation: the protocol's periods moved k validation periods earlier each.

    Fold 0 is ``periods`` itself. A fold that would train before the data begins is a ConfigError naming
    how many folds fit.
    """
    from seek_finance.evaluate import Periods

    p = config.protocol
    first = frame.get_column("timestamp").min()
    folds = []
    for k in range(1, p.prequential_folds):
        fold = Periods.before_test(
            periods.test_start - k * p.validation, p.train, p.validation, config.features.label_delay, p.test
        )
        if fold.train_start < first:
            raise ConfigError(
                f"protocol.prequential_folds={p.prequential_folds}: fold {k} would train from "
                f"{fold.train_start:%Y-%m-%d} but the data begins {first:%Y-%m-%d}; at most {k} folds fit"
            )
        folds.append(fold)
    return folds


def split_rows(feats: pl.DataFrame, periods: Periods, config: FraudConfig, source: str) -> Split:
    """Masks of the labelled rows in each period; each must hold frauds and genuine payments."""
    from seek_finance.evaluate import known_compromised

    ts = feats.get_column("timestamp").to_numpy()
    labelled = feats.get_column("is_fraud").is_not_null().to_numpy()
    y = feats.get_column("is_fraud").fill_null(0).to_numpy()

    def between(a: dt.datetime, b: dt.datetime) -> np.ndarray:
        return labelled & (ts >= np.datetime64(a, "us")) & (ts < np.datetime64(b, "us"))

    split = Split(
        train=between(periods.train_start, periods.val_start),
        val=between(periods.val_start, periods.delay_start),
        test=between(periods.test_start, periods.test_end),
        known=known_compromised(feats, periods, config.protocol.known_fraud_lookback).to_numpy(),
    )
    for label, mask in (("train", split.train), ("validation", split.val), ("test", split.test)):
        if y[mask].sum() == 0 or (y[mask] == 0).sum() == 0:
            raise DataError(
                f"{source}: the {label} period holds no frauds or no genuine payments; "
                "check protocol.test_start, the period lengths and the labels"
            )
    return split


def run_fraud(config: FraudConfig, ctx: RunContext) -> Report:
    """The whole run; returns the Report (metrics, sections, figures)."""
    # Sleeping, not spinning, OpenMP workers: spinning threads are several times slower on a shared CPU.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import polars as pl

    from seek.evaluation import threshold_at_fpr
    from seek_finance import model as md
    from seek_finance.data import loaded, simulated
    from seek_finance.features import compute_features, feature_names, modalities
    from seek_finance.report import build_report
    from seek_finance.sequence import train_and_score
    from seek_finance.serve import history_frame, history_start, save_predictor

    if ctx.resume:
        ctx.logger.info(
            "resume: data, features and LightGBM are recomputed (deterministic for the seed); "
            "the sequence model continues from its last checkpoint"
        )
    if ctx.data is None:
        with ctx.stage("simulate"):
            tx = simulated(config, ctx)
    else:
        tx = loaded(config, ctx)
    periods = periods_for(tx.frame, config)
    earlier = prequential_periods(tx.frame, periods, config)
    with ctx.stage("features"):
        feats = compute_features(tx.frame, config.features)
    names = feature_names(tx.frame.columns, config.features)
    present = modalities(tx.frame.columns)
    split = split_rows(feats, periods, config, tx.source)
    y = feats.get_column("is_fraud").fill_null(0).to_numpy().astype(np.int64)
    x = feats.select(names).cast(pl.Float64).to_numpy()
    evaluated = split.val | (split.test | _test_rows(feats, periods))

    with ctx.stage("lightgbm"):
        booster = md.train_lgbm(x[split.train], y[split.train], x[split.val], y[split.val], names, config.lightgbm,
                                config.threads)  # fmt: skip
        spw = md.positive_weight(y[split.train], config.lightgbm.imbalance)
        p_lgbm = np.full(y.size, np.nan)
        p_lgbm[evaluated] = md.lgbm_scores(booster, x[evaluated], spw)
        fold_aps = [_fold_average_precision(x, y, feats, fold, config, names, tx.source) for fold in earlier]
    seq: SequenceResult | None = None
    if config.sequence.enabled:
        with ctx.stage("sequence"):
            seq = train_and_score(config, ctx, feats, names, y, split.train, evaluated)

    with ctx.stage("evaluate"):
        p_seq = seq.probs if seq is not None else None
        if p_seq is not None:
            fusion = md.Fusion.fit(config.fusion.mode, y[split.val], p_lgbm[split.val], p_seq[split.val], seq.shift)
        else:
            fusion = md.Fusion("weighted", weight=1.0)
        fused = fusion(p_lgbm, p_seq)
        scores = Scores(
            p_lgbm, p_seq, fused, threshold_at_fpr(y[split.val], fused[split.val], config.protocol.alert_fpr)
        )
        metrics = _metrics(config, feats, split, y, scores, booster)
        aps = [metrics["lgbm_val_average_precision"], *fold_aps]
        if fold_aps:
            ctx.logger.info("prequential validation, LightGBM AP per fold (latest first): %s",
                            ", ".join(f"{ap:.4f}" for ap in aps))  # fmt: skip
        # What `seek tune finance-fraud` maximises: with one fold, the validation period's LightGBM AP.
        metrics["lgbm_prequential_average_precision"] = float(np.mean(aps))
        metrics["lgbm_prequential_ap_std"] = float(np.std(aps))
        metrics["fusion_weight_lgbm"] = fusion.weight if fusion.mode != "stacking" else float("nan")
        # The sequence model's early-stopping loss: what `seek tune finance-fraud` minimises.
        metrics["val_loss"] = seq.val_loss if seq is not None else float("nan")
    with ctx.stage("report"):
        _write_predictions(ctx, feats, periods, split, y, scores)
        history = history_frame(feats, history_start(config, periods.test_start), seq.steps_raw if seq else None)
        id_types = {n: ("str" if tx.frame.schema[n] == pl.String else "int") for n in _IDS if n in tx.frame.columns}
        save_predictor(ctx, config, names, booster, spw, fusion, scores.threshold, seq, history, present, id_types)
        report = build_report(ctx, config, tx, present, periods, metrics, fusion, feats, x, scores, split, booster,
                              names, y, seq)  # fmt: skip
    return report


_IDS = ("transaction_id", "customer_id", "terminal_id", "device_id")


def _fold_average_precision(
    x: np.ndarray, y: np.ndarray, feats: pl.DataFrame, fold: Periods, config: FraudConfig, names: list[str], source: str
) -> float:
    """LightGBM trained on one earlier fold's train period, its AP on that fold's validation period."""
    from seek_finance import model as md

    split = split_rows(feats, fold, config, source)
    booster = md.train_lgbm(x[split.train], y[split.train], x[split.val], y[split.val], names, config.lightgbm,
                            config.threads)  # fmt: skip
    spw = md.positive_weight(y[split.train], config.lightgbm.imbalance)
    return _ap(y[split.val], md.lgbm_scores(booster, x[split.val], spw))


def _test_rows(feats: pl.DataFrame, periods: Periods) -> np.ndarray:
    """Every test-period row, labelled or not (predictions.parquet lists them all)."""
    ts = feats.get_column("timestamp").to_numpy()
    return (ts >= np.datetime64(periods.test_start, "us")) & (ts < np.datetime64(periods.test_end, "us"))


def _metrics(
    config: FraudConfig, feats: pl.DataFrame, split: Split, y: np.ndarray, scores: Scores, booster: Any
) -> dict[str, float]:
    from seek.evaluation import alert_queue, threshold_at_fpr
    from seek_finance import evaluate as ev

    scored = split.scored
    ts = feats.get_column("timestamp").to_numpy()[scored]
    days = ts.astype("datetime64[D]").astype(np.int64)
    cards = feats.get_column("customer_id").to_numpy()[scored]
    fpr = config.protocol.alert_fpr
    metrics = ev.score_metrics(y[scored], scores.fused[scored], days, cards, scores.threshold)
    lgbm_threshold = threshold_at_fpr(y[split.val], scores.lgbm[split.val], fpr)
    metrics |= ev.score_metrics(y[scored], scores.lgbm[scored], days, cards, lgbm_threshold, prefix="lgbm_")
    if scores.seq is not None:
        seq_threshold = threshold_at_fpr(y[split.val], scores.seq[split.val], fpr)
        metrics |= ev.score_metrics(y[scored], scores.seq[scored], days, cards, seq_threshold, prefix="seq_")
    else:
        metrics |= {f"seq_{k}": float("nan") for k in ev.METRICS}
    queue = alert_queue(
        ts.astype("datetime64[D]").astype(str), cards, y[scored], scores.fused[scored], scores.threshold
    )
    negatives = scores.fused[scored][y[scored] == 0]
    # Validation-period AP (never the test week): what `seek tune finance-fraud` maximises.
    metrics |= {
        f"{p}val_average_precision": _ap(y[split.val], s[split.val])
        for p, s in (("", scores.fused), ("lgbm_", scores.lgbm))
    }
    return metrics | {
        "decision_threshold": scores.threshold,
        "fpr_at_threshold": float(np.mean(negatives >= scores.threshold)) if negatives.size else float("nan"),
        "alerts_per_day": queue.alerts_per_day,
        "cards_alerted_per_day": queue.entities_alerted_per_day,
        "alert_precision": queue.alert_precision,
        "test_transactions": float(scored.sum()),
        "test_frauds": float(y[scored].sum()),
        "known_compromised_removed": float((split.test & split.known).sum()),
        "lgbm_best_iteration": float(booster.best_iteration),
    }


def _ap(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(labels, scores)) if labels.min() != labels.max() else float("nan")


def _write_predictions(
    ctx: RunContext, feats: pl.DataFrame, periods: Periods, split: Split, y: np.ndarray, scores: Scores
) -> None:
    import polars as pl

    rows = _test_rows(feats, periods)
    labelled = feats.get_column("is_fraud").is_not_null().to_numpy()
    preds = (
        feats.filter(pl.Series(rows))
        .select("transaction_id", "customer_id", "timestamp")
        .with_columns(
            pl.Series("label", np.where(labelled, y, -1)[rows]).cast(pl.Int8).replace(-1, None),
            pl.Series("score", scores.fused[rows]),
            pl.Series("lgbm_score", scores.lgbm[rows]),
            pl.Series("seq_score", scores.seq[rows] if scores.seq is not None else np.full(int(rows.sum()), np.nan)),
            pl.Series("known_compromised", split.known[rows]),
        )
    )
    with ctx.run.writing("predictions.parquet") as tmp:
        preds.write_parquet(tmp)
