"""What ``seek run finance-fraud`` does: data, features, both models, fusion, protocol metrics, artifacts."""

from __future__ import annotations

import datetime as dt
import math
import os
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from seek.app import Report, RunContext
from seek.errors import ConfigError, DataError
from seek_finance.app import FraudConfig

if TYPE_CHECKING:
    import polars as pl

MODEL_DIR = "model"


def feature_config(config: FraudConfig):  # -> FeatureConfig
    """The FeatureConfig a run's Config describes."""
    from seek_finance.features import FeatureConfig

    return FeatureConfig(
        customer_windows=tuple(config.customer_windows),
        distinct_windows=tuple(config.distinct_windows),
        terminal_windows=tuple(config.terminal_windows),
        risk_windows=tuple(config.risk_windows),
        ratio_windows=tuple(config.ratio_windows),
        label_delay=f"{round(config.label_delay_days * 86400)}s",
    )


def load_data(config: FraudConfig, ctx: RunContext) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Simulate (default) or load ``config.data``; rejected rows go to rejected.parquet."""
    from seek_finance.data import load_transactions, normalise
    from seek_finance.simulate import SimulatorConfig, simulate

    if config.data is None:
        sim = SimulatorConfig(
            n_customers=config.n_customers,
            n_terminals=config.n_terminals,
            n_days=config.n_days,
            start_date=config.start_date.isoformat(),
            seed=config.simulator_seed,
            label_delay_days=config.label_delay_days,
            devices=config.devices,
            sessions=config.sessions,
        )
        loaded = normalise(simulate(sim), source="simulator", label_delay_days=config.label_delay_days)
    else:
        loaded = load_transactions(config.data, config.column_map, config.label_delay_days)
    if loaded.rejected.height:
        with ctx.run.writing("rejected.parquet") as tmp:
            loaded.rejected.write_parquet(tmp)
    if "is_fraud" not in loaded.frame.columns:
        raise DataError(
            f"{loaded.source}: no is_fraud column; training needs labels (map it with "
            "--set column_map.is_fraud=<your column>)"
        )
    summary = {
        "source": loaded.source,
        "rows_in": loaded.n_input,
        "rows_kept": loaded.frame.height,
        "rows_rejected": loaded.rejected.height,
    }
    return loaded.frame, summary


def _periods(frame: pl.DataFrame, config: FraudConfig):  # -> Periods
    from seek_finance.evaluate import Periods

    if config.test_start is not None:
        start = dt.datetime.combine(config.test_start, dt.time())
    else:
        last_day = frame.get_column("timestamp").max().date()
        start = dt.datetime.combine(last_day - dt.timedelta(days=config.test_days - 1), dt.time())
    periods = Periods.before_test(start, config.train_days, config.val_days, config.label_delay_days, config.test_days)
    first = frame.get_column("timestamp").min()
    if periods.train_start < first:
        raise ConfigError(
            f"train period starts {periods.train_start:%Y-%m-%d} but the data begins {first:%Y-%m-%d}; "
            "lower train_days/val_days or move test_start later"
        )
    return periods


def _between(ts: np.ndarray, a: dt.datetime, b: dt.datetime) -> np.ndarray:
    return (ts >= np.datetime64(a, "us")) & (ts < np.datetime64(b, "us"))


def run_fraud(config: FraudConfig, ctx: RunContext) -> Report:
    """The whole run; returns the Report (metrics, sections, figures)."""
    # Sleeping, not spinning, OpenMP workers: spinning threads are several times slower on a shared CPU.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import polars as pl

    from seek_finance import evaluate as ev
    from seek_finance import model as md
    from seek_finance.features import compute_features, feature_names, modalities

    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    clock, cpu_clock = time.perf_counter(), time.process_time()
    frame, data_summary = load_data(config, ctx)
    timings["data"], cpu["data"] = time.perf_counter() - clock, time.process_time() - cpu_clock
    periods = _periods(frame, config)
    fcfg = feature_config(config)
    clock, cpu_clock = time.perf_counter(), time.process_time()
    feats = compute_features(frame, fcfg)
    timings["features"], cpu["features"] = time.perf_counter() - clock, time.process_time() - cpu_clock
    names = feature_names(frame.columns, fcfg)
    present = modalities(frame.columns)
    ts = feats.get_column("timestamp").to_numpy()
    y = feats.get_column("is_fraud").fill_null(0).to_numpy().astype(np.int64)
    train = _between(ts, periods.train_start, periods.val_start)
    val = _between(ts, periods.val_start, periods.delay_start)
    test = _between(ts, periods.test_start, periods.test_end)
    for label, mask in (("train", train), ("validation", val), ("test", test)):
        if y[mask].sum() == 0 or (y[mask] == 0).sum() == 0:
            raise DataError(
                f"{data_summary['source']}: the {label} period holds no frauds or no genuine payments; "
                "check test_start, the period lengths and the labels"
            )
    x = feats.select(names).cast(pl.Float64).to_numpy()

    clock, cpu_clock = time.perf_counter(), time.process_time()
    params = {"num_threads": config.threads, **config.lgbm_params}
    booster = md.train_lgbm(
        x[train],
        y[train],
        x[val],
        y[val],
        names,
        params,
        config.lgbm_rounds,
        config.lgbm_early_stopping,
        config.imbalance,
    )
    p_lgbm = np.full(y.size, np.nan)
    p_lgbm[val | test] = md.lgbm_scores(booster, x[val | test])  # only the periods that are evaluated
    timings["lgbm"], cpu["lgbm"] = time.perf_counter() - clock, time.process_time() - cpu_clock

    seq_state: dict[str, Any] = {}
    p_seq = None
    if config.sequence_model:
        clock, cpu_clock = time.perf_counter(), time.process_time()
        p_seq, seq_state = _sequence(config, ctx, feats, names, y, train, val | test)
        timings["sequence"], cpu["sequence"] = time.perf_counter() - clock, time.process_time() - cpu_clock
    if p_seq is not None:
        fusion = md.Fusion.fit(config.fusion, y[val], p_lgbm[val], p_seq[val], seq_state["logit_shift"])
    else:
        fusion = md.Fusion("weighted", weight=1.0)
    fused = fusion(p_lgbm, p_seq)
    threshold = ev.threshold_at_fpr(y[val], fused[val], config.alert_fpr)

    known = ev.known_compromised(feats, periods, config.known_fraud_lookback_days).to_numpy()
    scored = test & ~known
    days = (ts[scored].astype("datetime64[D]")).astype(np.int64)
    cards = feats.get_column("customer_id").to_numpy()[scored]
    metrics = ev.score_metrics(y[scored], fused[scored], days, cards, threshold)
    lgbm_threshold = ev.threshold_at_fpr(y[val], p_lgbm[val], config.alert_fpr)
    metrics |= ev.score_metrics(y[scored], p_lgbm[scored], days, cards, lgbm_threshold, prefix="lgbm_")
    if p_seq is not None:
        seq_threshold = ev.threshold_at_fpr(y[val], p_seq[val], config.alert_fpr)
        metrics |= ev.score_metrics(y[scored], p_seq[scored], days, cards, seq_threshold, prefix="seq_")
    else:
        metrics |= {f"seq_{k}": float("nan") for k in ev.METRICS}
    test_fpr = float(np.mean(fused[scored][y[scored] == 0] >= threshold))
    metrics |= {
        "decision_threshold": threshold,
        "fpr_at_threshold": test_fpr,
        "fusion_weight_lgbm": fusion.weight if fusion.mode == "weighted" else float("nan"),
        "test_transactions": float(scored.sum()),
        "test_frauds": float(y[scored].sum()),
        "known_compromised_removed": float((test & known).sum()),
        "lgbm_best_iteration": float(booster.best_iteration),
    }

    _write_predictions(ctx, feats, test, known, y, fused, p_lgbm, p_seq)
    from seek_finance.serve import save_bundle

    save_bundle(ctx.run, config, fcfg, names, booster, fusion, threshold, seq_state, feats, present)

    figures = ev.plot_curves(
        ctx.run,
        y[scored],
        {"fused": fused[scored], "lgbm": p_lgbm[scored]} | ({"sequence": p_seq[scored]} if p_seq is not None else {}),
    )
    figures.append(ev.plot_scores(ctx.run, y[scored], fused[scored], threshold))
    gains = booster.feature_importance(importance_type="gain")
    figures.append(ev.plot_importance(ctx.run, names, gains))
    sections = _sections(
        config,
        data_summary,
        present,
        periods,
        metrics,
        fusion,
        timings,
        cpu,
        feats,
        x,
        fused,
        scored,
        booster,
        names,
        y,
    )
    summary = (
        f"AUC-ROC {metrics['auc_roc']:.3f}, average precision {metrics['average_precision']:.3f}, "
        f"card precision@100 {metrics['card_precision_at_100']:.3f} on {int(scored.sum())} test transactions "
        f"({int(y[scored].sum())} frauds) from {data_summary['source']}."
    )
    return Report(metrics=metrics, summary=summary, sections=sections, figures=figures)


def _sequence(
    config: FraudConfig,
    ctx: RunContext,
    feats: pl.DataFrame,
    names: list[str],
    y: np.ndarray,
    train: np.ndarray,
    score_rows: np.ndarray,
) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Train the sequence model; return its (prior-corrected) probability for every row and its state."""
    from seek_finance import model as md

    try:
        import torch
    except ImportError:  # the core can run without torch; the fused model is then LightGBM alone
        ctx.logger.warning("torch is not installed: skipping the sequence model")
        return None, {}
    torch.set_num_threads(config.threads)
    steps_raw = md.step_vectors({n: feats.get_column(n).to_numpy() for n in names if n in feats.columns}, names)
    scaler = md.StepScaler.fit(steps_raw[train])
    steps = scaler(steps_raw)
    seconds = feats.get_column("timestamp").dt.epoch("us").to_numpy() / 1e6
    customers = feats.get_column("customer_id").to_numpy()
    index = md.sequence_index(customers, seconds, config.seq_k)
    rng = np.random.default_rng(ctx.seed)
    train_rows = np.flatnonzero(train)
    frauds, genuine = train_rows[y[train_rows] == 1], train_rows[y[train_rows] == 0]
    n_genuine = min(genuine.size, max(config.seq_max_train - frauds.size, frauds.size))
    keep_rate = n_genuine / max(genuine.size, 1)
    chosen = np.sort(np.concatenate([frauds, rng.choice(genuine, n_genuine, replace=False)]))
    # Early stopping on a held-out tenth of the (time-ordered) training sequences, so that the
    # validation period stays untouched for the fusion weight.
    cut = int(chosen.size * 0.9)
    fit_rows, stop_rows = chosen[:cut], chosen[cut:]
    x_fit, m_fit = md.assemble(steps, seconds, index[fit_rows])
    x_stop, m_stop = md.assemble(steps, seconds, index[stop_rows])
    model = md.train_sequence(
        x_fit,
        m_fit,
        y[fit_rows],
        x_stop,
        m_stop,
        y[stop_rows],
        config.seq_preset,
        config.seq_epochs,
        config.seq_batch_size,
        config.seq_lr,
        ctx.seed,
        progress=ctx.show_progress,
    )
    shift = math.log(keep_rate)  # undo the genuine-payment subsampling: prior correction of the logit
    probs = np.full(y.size, np.nan)
    rows = np.flatnonzero(score_rows)
    for start in range(0, rows.size, 20000):
        part = rows[start : start + 20000]
        xb, mb = md.assemble(steps, seconds, index[part])
        probs[part] = md.sigmoid(md.sequence_logits(model, xb, mb) + shift)
    return probs, {
        "model": model,
        "scaler": scaler,
        "logit_shift": shift,
        "k": config.seq_k,
        "step_names": md.step_names(names),
        "train_sequences": int(chosen.size),
        "steps_raw": steps_raw,
    }


def _write_predictions(
    ctx: RunContext,
    feats: pl.DataFrame,
    test: np.ndarray,
    known: np.ndarray,
    y: np.ndarray,
    fused: np.ndarray,
    p_lgbm: np.ndarray,
    p_seq: np.ndarray | None,
) -> None:
    import polars as pl

    preds = (
        feats.filter(pl.Series(test))
        .select("transaction_id", "customer_id", "timestamp")
        .with_columns(
            pl.Series("label", y[test]),
            pl.Series("score", fused[test]),
            pl.Series("lgbm_score", p_lgbm[test]),
            pl.Series("seq_score", p_seq[test] if p_seq is not None else np.full(int(test.sum()), np.nan)),
            pl.Series("known_compromised", known[test]),
        )
    )
    with ctx.run.writing("predictions.parquet") as tmp:
        preds.write_parquet(tmp)


def _sections(
    config: FraudConfig,
    data_summary: dict[str, Any],
    present: dict[str, bool],
    periods: Any,
    metrics: dict[str, float],
    fusion: Any,
    timings: dict[str, float],
    cpu: dict[str, float],
    feats: pl.DataFrame,
    x: np.ndarray,
    fused: np.ndarray,
    scored: np.ndarray,
    booster: Any,
    names: list[str],
    y: np.ndarray,
) -> list[tuple[str, str]]:
    from seek_finance import model as md

    data_lines = [
        f"- source: {data_summary['source']}",
        f"- rows read: {data_summary['rows_in']}, kept: {data_summary['rows_kept']}, "
        f"rejected: {data_summary['rows_rejected']}"
        + (" (see rejected.parquet)" if data_summary["rows_rejected"] else ""),
        f"- fraud rate: {y.mean():.4%}",
        "- modalities present: " + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in present.items()),
        f"- features: {len(names)}",
    ]
    rows = ["| model | AUC-ROC | AP | CP@100 | recall@0.3% FPR | accuracy |", "|---|---|---|---|---|---|"]
    for label, prefix in (("fused", ""), ("LightGBM", "lgbm_"), ("sequence (Seek transformer)", "seq_")):
        rows.append(
            f"| {label} | "
            + " | ".join(
                f"{metrics[prefix + k]:.4f}"
                for k in ("auc_roc", "average_precision", "card_precision_at_100", "recall_at_fpr_0_3pct", "accuracy")
            )
            + " |"
        )
    rows.append("| Handbook best baselines (its data) | ~0.88 | ~0.69 | ~0.30 | - | - |")
    fusion_text = (
        f"weighted: {fusion.weight:.2f} x LightGBM + {1 - fusion.weight:.2f} x sequence (weight with the best "
        "validation AP)"
        if fusion.mode == "weighted"
        else f"stacking: logistic regression {fusion.coef}"
    )
    model_lines = "\n".join(rows) + (
        f"\n\nFusion: {fusion_text}. Accuracy uses the threshold giving {config.alert_fpr:.1%} false positives "
        f"on the validation period ({metrics['decision_threshold']:.4f}); on the test set it gives "
        f"{metrics['fpr_at_threshold']:.3%} false positives. {int(metrics['known_compromised_removed'])} test "
        f"payments of cards already known to be compromised were removed (Handbook protocol)."
    )
    test_rows = np.flatnonzero(scored)
    top = test_rows[np.argsort(-fused[test_rows], kind="stable")[: config.report_top_n]]
    why = md.reasons(booster, x[top], names, config.reasons_top_k)
    ids = feats.get_column("transaction_id").to_numpy()
    reason_rows = ["| transaction | score | fraud | top reasons (SHAP contribution) |", "|---|---|---|---|"]
    for row, rs in zip(top, why, strict=True):
        text = "; ".join(
            f"{r['feature']}={r['value'] if r['value'] is None else round(r['value'], 3)} (+{r['contribution']})"
            for r in rs
        )
        reason_rows.append(f"| {ids[row]} | {fused[row]:.3f} | {int(y[row])} | {text} |")
    timing = "| stage | wall (s) | CPU (s) |\n|---|---|---|\n" + "\n".join(
        f"| {k} | {v:.1f} | {cpu.get(k, float('nan')):.1f} |" for k, v in timings.items()
    )
    return [
        ("Data", "\n".join(data_lines)),
        ("Protocol", periods.describe()),
        ("Models", model_lines),
        ("Top-scored test transactions and their reasons", "\n".join(reason_rows)),
        ("Timings", timing),
    ]
