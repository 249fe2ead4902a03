"""The run's report: data, protocol, model table, alert queue per day, score counts, top payments with reasons."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from seek.app import Report

if TYPE_CHECKING:
    import polars as pl

    from seek.app import RunContext
    from seek_finance.app import FraudConfig
    from seek_finance.data import Transactions
    from seek_finance.evaluate import Periods
    from seek_finance.model import Fusion
    from seek_finance.pipeline import Scores, Split
    from seek_finance.sequence import SequenceResult

_MODEL_COLUMNS = ("auc_roc", "average_precision", "card_precision_at_100", "recall_at_fpr_0_3pct", "accuracy")


def build_report(
    ctx: RunContext,
    config: FraudConfig,
    tx: Transactions,
    present: dict[str, bool],
    periods: Periods,
    metrics: dict[str, float],
    fusion: Fusion,
    feats: pl.DataFrame,
    x: np.ndarray,
    scores: Scores,
    split: Split,
    booster: Any,
    names: list[str],
    y: np.ndarray,
    seq: SequenceResult | None,
) -> Report:
    """Figures into the run folder and the Report with its sections."""
    from seek.evaluation import alert_queue, plot_alert_queue, plot_roc_pr, plot_score_distribution, score_counts
    from seek_finance.evaluate import plot_importance

    scored = split.scored
    curves = {"fused": scores.fused[scored], "lgbm": scores.lgbm[scored]}
    if scores.seq is not None:
        curves["sequence"] = scores.seq[scored]
    figures = plot_roc_pr(ctx.run, y[scored], curves, max_fpr=config.protocol.alert_fpr)
    figures.append(plot_score_distribution(ctx.run, y[scored], scores.fused[scored], scores.threshold))
    figures.append(plot_importance(ctx.run, names, booster.feature_importance(importance_type="gain")))
    days = feats.get_column("timestamp").to_numpy()[scored].astype("datetime64[D]").astype(str)
    cards = feats.get_column("customer_id").to_numpy()[scored]
    queue = alert_queue(days, cards, y[scored], scores.fused[scored], scores.threshold)
    figures.append(plot_alert_queue(ctx.run, queue, "cards"))
    counts = score_counts(y[scored], scores.fused[scored], bins=10)
    sections = [
        ("Data", _data(config, tx, present, names, y, split)),
        ("Protocol", periods.describe()),
        ("Models", _models(config, metrics, fusion, seq)),
        ("Alert queue per day (at the decision threshold)", queue.markdown("cards")),
        ("Score distribution (test period, counts)", _counts(counts)),
        ("Top-scored test transactions and their reasons", _top(config, feats, x, scores, split, booster, names, y)),
    ]
    summary = (
        f"AUC-ROC {metrics['auc_roc']:.3f}, average precision {metrics['average_precision']:.3f}, "
        f"card precision@100 {metrics['card_precision_at_100']:.3f} on {int(scored.sum()):,} test transactions "
        f"({int(y[scored].sum()):,} frauds) from {tx.source}; {queue.alerts_per_day:.1f} alerts a day, "
        f"{_pct(queue.alert_precision)} of them fraud."
    )
    return Report(metrics=metrics, summary=summary, sections=sections, figures=figures)


def _pct(value: float) -> str:
    return "-" if value != value else f"{value:.1%}"


def _data(
    config: FraudConfig, tx: Transactions, present: dict[str, bool], names: list[str], y: np.ndarray, split: Split
) -> str:
    lines = [
        f"- source: {tx.source}",
        f"- rows read: {tx.rows_in:,}, kept: {tx.frame.height:,}, rejected: {tx.rows_rejected:,}"
        + (" (see rejected.parquet)" if tx.rows_rejected else ""),
        f"- rows without a label: {tx.unlabelled:,} (features only; left out of training and evaluation)",
        f"- fraud rate (labelled rows): {y[split.train | split.val | split.test].mean():.4%}",
        "- modalities present: " + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in present.items()),
        f"- features: {len(names)}",
    ]
    if tx.source != "simulator":
        lines.append(f"- naive timestamps read in time zone {config.timezone}")
    return "\n".join(lines)


def _models(config: FraudConfig, metrics: dict[str, float], fusion: Fusion, seq: SequenceResult | None) -> str:
    rows = ["| model | AUC-ROC | AP | CP@100 | recall@0.3% FPR | accuracy |", "|---|---|---|---|---|---|"]
    for label, prefix in (("fused", ""), ("LightGBM", "lgbm_"), ("sequence (Seek transformer)", "seq_")):
        rows.append(f"| {label} | " + " | ".join(f"{metrics[prefix + k]:.4f}" for k in _MODEL_COLUMNS) + " |")
    rows.append("| Handbook best baselines (its data) | ~0.88 | ~0.69 | ~0.30 | - | - |")
    rows.append(
        f"\nValidation-period AP: fused {metrics['val_average_precision']:.4f}, "
        f"LightGBM {metrics['lgbm_val_average_precision']:.4f}"
        + (
            f"; LightGBM over {config.protocol.prequential_folds} prequential folds (each one validation period "
            f"earlier; what `seek tune` maximises): {metrics['lgbm_prequential_average_precision']:.4f} "
            f"± {metrics['lgbm_prequential_ap_std']:.4f}."
            if config.protocol.prequential_folds > 1
            else " (LightGBM's is what `seek tune` maximises)."
        )
    )
    text = fusion.describe()
    if seq is not None:
        text += f"; sequence model: {seq.train_sequences:,} training sequences of {seq.k} payments, {seq.epochs} epochs"
    return "\n".join(rows) + (
        f"\n\nFusion: {text}. Accuracy uses the threshold giving {config.protocol.alert_fpr:.1%} false positives "
        f"on the validation period ({metrics['decision_threshold']:.4f}); on the test set it gives "
        f"{metrics['fpr_at_threshold']:.3%} false positives. {int(metrics['known_compromised_removed']):,} test "
        "payments of cards already known to be compromised were removed (Handbook protocol)."
    )


def _counts(rows: list[dict[str, float]]) -> str:
    lines = ["| score | genuine | fraud |", "|---|---|---|"]
    lines += [f"| {r['low']:.1f}-{r['high']:.1f} | {int(r['negatives']):,} | {int(r['positives']):,} |" for r in rows]
    return "\n".join(lines)


def _top(
    config: FraudConfig,
    feats: pl.DataFrame,
    x: np.ndarray,
    scores: Scores,
    split: Split,
    booster: Any,
    names: list[str],
    y: np.ndarray,
) -> str:
    from seek_finance.model import lgbm_contributions, reason_codes

    test_rows = np.flatnonzero(split.scored)
    top = test_rows[np.argsort(-scores.fused[test_rows], kind="stable")[: config.report_top_n]]
    why = reason_codes(lgbm_contributions(booster, x[top]), x[top], names, config.reasons_top_k)
    ids = feats.get_column("transaction_id").to_numpy()
    lines = ["| transaction | score | fraud | top reasons (SHAP contribution) |", "|---|---|---|---|"]
    for row, rs in zip(top, why, strict=True):
        text = "; ".join(
            f"{r['feature']}={r['value'] if r['value'] is None else round(r['value'], 3)} (+{r['contribution']})"
            for r in rs
        )
        lines.append(f"| {ids[row]} | {scores.fused[row]:.3f} | {int(y[row])} | {text} |")
    return "\n".join(lines)
