"""Fraud models: LightGBM on window features, a Seek transformer over each card's last K payments, fusion."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import lightgbm as lgb
    import torch

    from seek_finance.app import LightGBMConfig, SequenceConfig


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-z))


# -- LightGBM ---------------------------------------------------------------------------------------


def positive_weight(y: np.ndarray, imbalance: str) -> float:
    """scale_pos_weight for LightGBM: 1 (none), sqrt(neg/pos) or neg/pos (balanced)."""
    pos = max(int(y.sum()), 1)
    ratio = (y.size - pos) / pos
    return {"none": 1.0, "sqrt": math.sqrt(ratio), "balanced": ratio}[imbalance]


def train_lgbm(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    names: list[str],
    cfg: LightGBMConfig,
    threads: int,
) -> lgb.Booster:
    """Train with early stopping on the validation period (monitoring average precision)."""
    import lightgbm as lgb

    full = {
        "objective": "binary",
        "metric": "average_precision",
        "verbose": -1,
        **cfg.params(threads),
        "scale_pos_weight": positive_weight(y_train, cfg.imbalance),
    }
    train = lgb.Dataset(x_train, y_train, feature_name=names, free_raw_data=True)
    val = lgb.Dataset(x_val, y_val, reference=train)
    return lgb.train(
        full,
        train,
        num_boost_round=cfg.rounds,
        valid_sets=[val],
        callbacks=[lgb.early_stopping(cfg.early_stopping, verbose=False)],
    )


def lgbm_probability(raw: np.ndarray, scale_pos_weight: float) -> np.ndarray:
    """Fraud probability from LightGBM's raw score, the scale_pos_weight shift removed (comparable across models).

    Training, evaluation and serving all turn raw scores (``predict(raw_score=True)`` or the sum of the
    ``pred_contrib`` SHAP values, which is the same number) into probabilities here.
    """
    return sigmoid(np.asarray(raw, dtype=np.float64) - math.log(scale_pos_weight))


def lgbm_scores(booster: lgb.Booster, x: np.ndarray, scale_pos_weight: float) -> np.ndarray:
    """Fraud probability of each row of ``x``."""
    return lgbm_probability(booster.predict(x, raw_score=True), scale_pos_weight)


def lgbm_contributions(booster: lgb.Booster, x: np.ndarray, threads: int | None = None) -> np.ndarray:
    """Per-row SHAP contributions (n, features + 1); the last column is the bias, each row sums to the raw score."""
    options = {} if threads is None else {"num_threads": threads}
    return np.asarray(booster.predict(x, pred_contrib=True, **options))


def reason_codes(contrib: np.ndarray, x: np.ndarray, names: list[str], k: int = 3) -> list[list[dict[str, Any]]]:
    """Top-k features pushing each row towards fraud, from its SHAP contributions (positive ones only)."""
    top = np.argsort(-contrib[:, :-1], axis=1, kind="stable")[:, :k]
    out = []
    for row, idx in enumerate(top):
        out.append(
            [
                {
                    "feature": names[j],
                    "value": None if np.isnan(x[row, j]) else float(x[row, j]),
                    "contribution": round(float(contrib[row, j]), 4),
                }
                for j in idx
                if contrib[row, j] > 0
            ]
        )
    return out


# -- sequence model ---------------------------------------------------------------------------------


#: Channels added to each position when a sequence is assembled: is-current flag, log age in seconds.
EXTRA_CHANNELS = 2
#: Features that enter a step unchanged (flags and rates in [0, 1]); the rest enter as log1p.
_AS_IS_PREFIXES = ("is_", "term_risk_", "device_new_for_customer", "session_login_fail", "session_password_reset")
#: Value of a missing feature before its transform: a ratio with no history is 1, no earlier payment ~a month.
_FILLS = {"cust_amount_ratio_": 1.0, "cust_secs_since_prev": 3.0e6}


def step_spec(features: list[str]) -> list[tuple[str, str, float]]:
    """Per-step inputs of the sequence model: (feature, transform, value when missing) for every model feature.

    The current payment's step thus carries everything LightGBM sees, and earlier steps add the history.
    ``mcc`` is a category code, not a quantity, and is left out.
    """
    spec: list[tuple[str, str, float]] = []
    for name in features:
        if name == "mcc":
            continue
        if name == "hour":
            spec += [(name, "sin", 0.0), (name, "cos", 0.0)]
            continue
        fill = next((v for prefix, v in _FILLS.items() if name.startswith(prefix)), 0.0)
        spec.append((name, "id" if name.startswith(_AS_IS_PREFIXES) else "log1p", fill))
    return spec


def step_names(features: list[str]) -> list[str]:
    """Names of the per-payment inputs for a feature set."""
    return [f"{t}({f})" for f, t, _ in step_spec(features)]


def step_vectors(columns: Mapping[str, np.ndarray], features: list[str]) -> np.ndarray:
    """Raw per-payment input matrix (n, d) from feature columns; the same code serves offline and online."""
    names, fills, log, sin, cos = _compiled_spec(tuple(features))
    v = np.stack([np.asarray(columns[name], dtype=np.float64) for name in names], axis=1)
    v = np.where(np.isnan(v), fills, v)
    v[:, log] = np.log1p(np.maximum(v[:, log], 0.0))
    v[:, sin] = np.sin(2 * np.pi * v[:, sin] / 24)
    v[:, cos] = np.cos(2 * np.pi * v[:, cos] / 24)
    return v


@lru_cache(maxsize=16)
def _compiled_spec(features: tuple[str, ...]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`step_spec` as column names, fill values and one mask per transform (built once per feature set:
    the predictor calls :func:`step_vectors` for every payment)."""
    spec = step_spec(list(features))
    kinds = np.array([transform for _, transform, _ in spec])
    fills = np.array([fill for _, _, fill in spec], dtype=np.float64)
    return [name for name, _, _ in spec], fills, kinds == "log1p", kinds == "sin", kinds == "cos"


@dataclass
class StepScaler:
    """Standardisation of per-payment inputs, fitted on the training period."""

    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)

    @classmethod
    def fit(cls, steps: np.ndarray) -> StepScaler:
        """Fit mean and std per column."""
        return cls(steps.mean(axis=0).tolist(), np.maximum(steps.std(axis=0), 1e-6).tolist())

    def __call__(self, steps: np.ndarray) -> np.ndarray:
        return np.clip((steps - np.asarray(self.mean)) / np.asarray(self.std), -6, 6).astype(np.float32)


def sequence_index(customers: np.ndarray, seconds: np.ndarray, k: int) -> np.ndarray:
    """For rows in (timestamp, id) order: indices of each row's card's k-1 strictly earlier rows and itself.

    Returns (n, k) int64, the row itself last, -1 where the card has fewer earlier payments. Earlier
    rows sharing the row's timestamp are left out (the same-timestamp rule of the features).
    """
    order = np.lexsort((np.arange(customers.size), seconds, customers))
    cust_sorted, sec_sorted = customers[order], seconds[order]
    n = order.size
    pos = np.arange(n)
    new_card = np.r_[True, cust_sorted[1:] != cust_sorted[:-1]]
    new_tie = new_card | np.r_[True, sec_sorted[1:] != sec_sorted[:-1]]
    card_start = np.maximum.accumulate(np.where(new_card, pos, 0))
    tie_start = np.maximum.accumulate(np.where(new_tie, pos, 0))
    idx_sorted = np.full((n, k), -1, dtype=np.int64)
    idx_sorted[:, k - 1] = pos
    for j in range(1, k):
        prev = tie_start - j
        idx_sorted[:, k - 1 - j] = np.where(prev >= card_start, prev, -1)
    mapped = np.where(idx_sorted >= 0, order[np.maximum(idx_sorted, 0)], -1)
    out = np.empty_like(mapped)
    out[order] = mapped
    return out


def session_codes(sessions: Iterable[str | None], max_events: int) -> np.ndarray:
    """(n, max_events) event-type codes of each payment's session, its last event last, -1 in front as padding.

    Codes follow the simulator's vocabulary (:data:`~seek_finance.simulate.EVENTS`); any other event name
    gets the shared code ``len(EVENTS)``. A longer session keeps its last ``max_events`` events.
    """
    from seek_finance.simulate import EVENTS

    vocab = {name: code for code, name in enumerate(EVENTS)}
    other = len(EVENTS)
    rows = []
    for text in sessions:
        names = text.split("|")[-max_events:] if text else []
        rows.append([-1] * (max_events - len(names)) + [vocab.get(n, other) for n in names])
    return np.asarray(rows, dtype=np.int16).reshape(-1, max_events)


def event_channels() -> int:
    """Channels an event position adds: is-event flag, one per event type (plus "other"), log mean gap."""
    from seek_finance.simulate import EVENTS

    return len(EVENTS) + 3


def assemble(
    scaled: np.ndarray,
    seconds: np.ndarray,
    index: np.ndarray,
    events: np.ndarray | None = None,
    session_seconds: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Model input and mask from scaled step vectors and a sequence index (n, k), the current payment last.

    Without ``events``: (n, k, d + 2). With ``events`` (n, e) session codes of each sequence's current
    payment and its ``session_seconds`` (n,): (n, k + e, d + 2 + event_channels()), laid out as the k - 1
    earlier payments, the session's events, then the payment. An event's age is the session's time still
    to come before the payment, its events spread evenly over the session's duration (the data holds the
    duration, not each event's time).
    """
    mask = index >= 0
    safe = np.maximum(index, 0)
    x = scaled[safe]
    age = (seconds[index[:, -1]][:, None] - seconds[safe]).astype(np.float64)
    is_current = np.zeros(index.shape, dtype=np.float32)
    is_current[:, -1] = 1.0
    extra = np.stack([is_current, (np.log1p(np.maximum(age, 0)) / 10).astype(np.float32)], axis=2)
    x = np.concatenate([x, extra], axis=2) * mask[:, :, None]
    if events is None:
        return x.astype(np.float32), mask
    n, e = events.shape
    real = events >= 0
    count = real.sum(axis=1)
    duration = np.nan_to_num(np.asarray(session_seconds, dtype=np.float64), nan=0.0)
    gap = np.where(count > 1, duration / np.maximum(count - 1, 1), 0.0)
    after = (e - 1 - np.arange(e))[None, :].astype(np.float64)  # events between this one and the payment's
    ev = np.zeros((n, e, x.shape[2] + event_channels()), dtype=np.float32)
    d = x.shape[2]
    ev[:, :, d - 1] = np.log1p(after * gap[:, None]) / 10  # the age channel, shared with payments
    ev[:, :, d] = 1.0
    codes = np.where(real, events, 0).astype(np.int64)
    np.put_along_axis(ev[:, :, d + 1 : -1], codes[:, :, None], 1.0, axis=2)
    ev[:, :, -1] = (np.log1p(gap) / 5)[:, None]
    ev *= real[:, :, None]
    pay = np.concatenate([x, np.zeros((n, x.shape[1], event_channels()), dtype=np.float32)], axis=2)
    out = np.concatenate([pay[:, :-1], ev, pay[:, -1:]], axis=1)
    full_mask = np.concatenate([mask[:, :-1], real, mask[:, -1:]], axis=1)
    return out.astype(np.float32), full_mask


def build_sequence_model(input_dim: int, cfg: SequenceConfig, events: int = 0) -> torch.nn.Module:
    """A SeekTransformer (dense adapter) over ``cfg.k`` payments and ``events`` session events, the payment last.

    ``readout='current'`` reads the fraud logits at the current payment's position (a token head: the
    payment attends to its history); ``'mean'`` pools every position, which dilutes the current payment
    by 1/k (why k=32 collapsed).
    """
    from seek.models import SeekConfig, SeekTransformer

    extra = {"num_heads": cfg.num_heads} if cfg.num_heads is not None else {}
    model_cfg = SeekConfig.preset(
        cfg.preset,
        input_type="dense",
        input_dim=input_dim,
        head="token" if cfg.readout == "current" else "classification",
        num_outputs=2,
        max_len=cfg.k + events,
        segment_size=min(cfg.k + events, cfg.segment),
        full_attention_below=cfg.full_attention_below,
        dropout=cfg.dropout,
        **extra,
    )
    return SeekTransformer(model_cfg)


def current_logits(outputs: torch.Tensor) -> torch.Tensor:
    """(B, 2) logits of the sequence: the last position's for a token head, else the pooled output."""
    return outputs[:, -1] if outputs.dim() == 3 else outputs


def sequence_loss(outputs: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy of the current payment's label (the Trainer's loss for either readout)."""
    import torch.nn.functional as F

    return F.cross_entropy(current_logits(outputs).float(), batch["y"].long().reshape(-1))


def sequence_tensors(x: np.ndarray, mask: np.ndarray, y: np.ndarray) -> dict[str, torch.Tensor]:
    """The Trainer's batch dict for assembled sequences."""
    import torch

    return {"x": torch.from_numpy(x), "mask": torch.from_numpy(mask), "y": torch.from_numpy(y.astype(np.int64))}


def sequence_logits(model: Any, x: np.ndarray, mask: np.ndarray, batch: int = 4096) -> np.ndarray:
    """Fraud logit (class 1 minus class 0) of each sequence, on the model's device: the one sequence scorer."""
    import torch

    device = next((p.device for p in model.parameters()), torch.device("cpu")) if hasattr(model, "parameters") else None
    out = []
    with torch.inference_mode():
        for i in range(0, x.shape[0], batch):
            xb, mb = torch.from_numpy(x[i : i + batch]), torch.from_numpy(mask[i : i + batch])
            if device is not None and device.type != "cpu":
                xb, mb = xb.to(device), mb.to(device)
            logits = current_logits(model(xb, mb)).float()
            out.append((logits[:, 1] - logits[:, 0]).double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def sequence_probability(logits: np.ndarray, shift: float) -> np.ndarray:
    """Fraud probability from sequence logits, prior-corrected by ``shift`` (undoes the genuine subsampling)."""
    return sigmoid(np.asarray(logits, dtype=np.float64) + shift)


# -- fusion -----------------------------------------------------------------------------------------


@dataclass
class Fusion:
    """How the two scores become one.

    ``weighted``: w * lgbm + (1 - w) * seq; ``logit``: the same average of the two logits (a probability
    near 0 or 1 keeps its weight of evidence); ``stacking``: logistic regression on the two logits.
    """

    mode: str = "weighted"
    weight: float = 1.0
    coef: list[float] = field(default_factory=lambda: [1.0, 0.0])
    intercept: float = 0.0
    seq_logit_shift: float = 0.0

    def __call__(self, p_lgbm: np.ndarray, p_seq: np.ndarray | None) -> np.ndarray:
        if p_seq is None:
            return p_lgbm
        if self.mode == "weighted":
            return self.weight * p_lgbm + (1 - self.weight) * p_seq
        if self.mode == "logit":
            return sigmoid(self.weight * _logit(p_lgbm) + (1 - self.weight) * _logit(p_seq))
        z = np.stack([_logit(p_lgbm), _logit(p_seq)], axis=1) @ np.asarray(self.coef) + self.intercept
        return sigmoid(z)

    def describe(self) -> str:
        """One line for the report: the mode and its fitted weight or coefficients."""
        if self.mode == "weighted":
            return f"weighted: {self.weight:.2f} x LightGBM + {1 - self.weight:.2f} x sequence (best validation AP)"
        if self.mode == "logit":
            return (
                f"logit average: {self.weight:.2f} x logit(LightGBM) + {1 - self.weight:.2f} x logit(sequence) "
                "(best validation AP)"
            )
        return f"stacking: logistic regression on the two logits, coefficients {[round(c, 3) for c in self.coef]}"

    @property
    def ignores_sequence(self) -> bool:
        """True when the sequence model has no say in the fused score (its forward pass can be skipped)."""
        return self.mode in ("weighted", "logit") and self.weight >= 1

    @classmethod
    def fit(cls, mode: str, y_val: np.ndarray, p_lgbm: np.ndarray, p_seq: np.ndarray, shift: float) -> Fusion:
        """Choose the weight (grid of 0.05 steps, best validation average precision) or fit the stacker."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import average_precision_score

        if mode == "stacking":
            lr = LogisticRegression(C=1.0, max_iter=1000).fit(np.stack([_logit(p_lgbm), _logit(p_seq)], 1), y_val)
            return cls("stacking", coef=lr.coef_[0].tolist(), intercept=float(lr.intercept_[0]), seq_logit_shift=shift)
        grid = np.round(np.linspace(0, 1, 21), 2)
        ap = [average_precision_score(y_val, cls(mode, weight=float(w))(p_lgbm, p_seq)) for w in grid]
        return cls(mode, weight=float(grid[int(np.argmax(ap))]), seq_logit_shift=shift)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))
