"""Training the sequence model with the run's Trainer (device, checkpoints, resume) and scoring with it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import polars as pl

    from seek.app import RunContext
    from seek_finance.app import FraudConfig
    from seek_finance.model import StepScaler

#: Rows scored per chunk (bounds the memory of assembled sequences).
CHUNK = 20_000


@dataclass
class SequenceResult:
    """The trained sequence model (on the CPU, eval mode), its inputs' scaler and what serving needs."""

    model: Any
    scaler: StepScaler
    shift: float
    k: int
    events: int
    step_names: list[str]
    steps_raw: np.ndarray
    probs: np.ndarray
    train_sequences: int
    epochs: int
    val_loss: float


def train_and_score(
    config: FraudConfig,
    ctx: RunContext,
    feats: pl.DataFrame,
    names: list[str],
    y: np.ndarray,
    train: np.ndarray,
    score_rows: np.ndarray,
) -> SequenceResult | None:
    """Train on every training fraud plus sampled genuine payments; return probabilities for ``score_rows``."""
    from seek_finance import model as md

    try:
        import torch
    except ImportError:  # the core can run without torch; the fused model is then LightGBM alone
        ctx.logger.warning("torch is not installed: skipping the sequence model (LightGBM alone)")
        return None
    cfg = config.sequence
    torch.set_num_threads(config.threads)
    steps_raw = md.step_vectors({n: feats.get_column(n).to_numpy() for n in names if n in feats.columns}, names)
    scaler = md.StepScaler.fit(steps_raw[train])
    steps = scaler(steps_raw)
    seconds = feats.get_column("timestamp").dt.epoch("us").to_numpy() / 1e6
    index = md.sequence_index(feats.get_column("customer_id").to_numpy(), seconds, cfg.k)
    n_events = cfg.events if "session_events" in feats.columns else 0
    codes = md.session_codes(feats.get_column("session_events").to_list(), n_events) if n_events else None
    durations = feats.get_column("session_seconds").cast(float).to_numpy() if n_events else None

    def inputs(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if codes is None or durations is None:
            return md.assemble(steps, seconds, index[rows])
        return md.assemble(steps, seconds, index[rows], codes[rows], durations[rows])

    rng = np.random.default_rng(ctx.seed)
    train_rows = np.flatnonzero(train)
    frauds, genuine = train_rows[y[train_rows] == 1], train_rows[y[train_rows] == 0]
    limit = cfg.max_train or train_rows.size
    n_genuine = min(genuine.size, max(limit - frauds.size, frauds.size))
    keep_rate = n_genuine / max(genuine.size, 1)
    chosen = np.sort(np.concatenate([frauds, rng.choice(genuine, n_genuine, replace=False)]))
    # Early stopping on a held-out tenth of the (time-ordered) training sequences, so that the
    # validation period stays untouched for the fusion weight and the threshold.
    cut = int(chosen.size * 0.9)
    fit_rows, stop_rows = chosen[:cut], chosen[cut:]
    torch.manual_seed(ctx.seed)
    width = steps.shape[1] + md.EXTRA_CHANNELS + (md.event_channels() if n_events else 0)
    model = md.build_sequence_model(width, cfg, n_events)
    trainer = ctx.trainer(model, ctx.trainer_config(**cfg.trainer.model_dump(exclude={"seed"})), name="sequence",
                          loss_fn=md.sequence_loss)  # fmt: skip
    fit = trainer.fit(
        md.sequence_tensors(*inputs(fit_rows), y[fit_rows]),
        md.sequence_tensors(*inputs(stop_rows), y[stop_rows]),
        resume=ctx.resume,
    )
    # Scored on the CPU, as the predictor scores: predictions.parquet and serving then agree to 1e-6.
    model = model.to("cpu").eval()
    shift = math.log(keep_rate)  # undo the genuine-payment subsampling: prior correction of the logit
    probs = np.full(y.size, np.nan)
    rows = np.flatnonzero(score_rows)
    for start in range(0, rows.size, CHUNK):
        part = rows[start : start + CHUNK]
        probs[part] = md.sequence_probability(md.sequence_logits(model, *inputs(part)), shift)
    return SequenceResult(
        model=model,
        scaler=scaler,
        shift=shift,
        k=cfg.k,
        events=n_events,
        step_names=md.step_names(names),
        steps_raw=steps_raw,
        probs=probs,
        train_sequences=int(chosen.size),
        epochs=len(fit.history),
        val_loss=float(fit.best_metric) if fit.best_metric is not None else float("nan"),
    )
