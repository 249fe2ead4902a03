"""Saving what the predictor needs (through ``ctx.artifacts``) and the real-time predictor ``seek serve`` calls.

The predictor scores with the functions training and evaluation use (:func:`~seek_finance.model.lgbm_probability`,
:func:`~seek_finance.model.reason_codes`, :func:`~seek_finance.model.sequence_probability`, the same
:class:`~seek_finance.model.Fusion`); a parity test replays the test week and gets predictions.parquet.

Records are checked field by field (:mod:`seek_finance.records`): anything wrong is a ``DataError``
naming the record and the field. Payments of one card must arrive in time order: one earlier than the
card's last payment is refused (inserting it would change features already served).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from seek.errors import DataError

if TYPE_CHECKING:
    import lightgbm as lgb
    import polars as pl

    from seek.app import RunContext
    from seek_finance.app import FraudConfig
    from seek_finance.model import Fusion
    from seek_finance.sequence import SequenceResult

SCORER = "model/scorer.json"
LGBM_FILE = "model/lightgbm.txt"
SEQ_DIR = "model/sequence"
HISTORY = "model/history.parquet"
FORMAT = 2
_CANONICAL = (
    "transaction_id",
    "timestamp",
    "customer_id",
    "terminal_id",
    "amount",
    "merchant_category",
    "device_id",
    "ip_lat",
    "ip_lon",
    "session_events",
    "session_seconds",
    "is_fraud",
)


def history_start(config: FraudConfig, test_start: datetime) -> datetime:
    """The oldest payment time a feature of the test period can see (the longest window back from its start)."""
    f = config.features
    spans = [*f.customer_windows, *f.distinct_windows, *f.terminal_windows, *f.device_windows, f.usual_window]
    spans += [w + f.label_delay for w in f.risk_windows]
    return test_start - max(spans)


def history_frame(feats: pl.DataFrame, start: datetime, steps: np.ndarray | None) -> pl.DataFrame:
    """Payments since ``start`` plus, before it, each card's last payment and each (device, card)'s first one.

    The last payment gives "time since the previous payment"; the first use of a device by a card
    gives "new device" and "customers of the device"; everything else lives inside the windows.
    """
    import polars as pl

    frame = feats.select([c for c in _CANONICAL if c in feats.columns])
    if steps is not None:
        frame = frame.with_columns(pl.Series("step", steps))
    frame = frame.with_row_index("_i")
    before = frame.filter(pl.col("timestamp") < start)
    parts = [frame.filter(pl.col("timestamp") >= start), before.group_by("customer_id").agg(pl.all().last())]
    if "device_id" in frame.columns:
        parts.append(before.group_by("device_id", "customer_id").agg(pl.all().first()))
    picked = pl.concat([p.select(frame.columns) for p in parts]).unique("_i").sort("_i")
    return picked.drop("_i")


def save_predictor(
    ctx: RunContext,
    config: FraudConfig,
    names: list[str],
    booster: lgb.Booster,
    scale_pos_weight: float,
    fusion: Fusion,
    threshold: float,
    seq: SequenceResult | None,
    history: pl.DataFrame,
    modalities: dict[str, bool],
    id_types: dict[str, str],
) -> None:
    """Write LightGBM (text), the sequence model (safetensors), the scorer settings (JSON), the history (parquet)."""
    ctx.artifacts.save_lightgbm("lightgbm", booster, path=LGBM_FILE)
    scorer: dict[str, Any] = {
        "format": FORMAT,
        "feature_config": config.features.model_dump(mode="json"),
        "names": names,
        "scale_pos_weight": scale_pos_weight,
        "fusion": asdict(fusion),
        "threshold": threshold,
        "reasons_top_k": config.reasons_top_k,
        "modalities": modalities,
        "id_types": id_types,
        "timezone": config.timezone,
        "columns": [c for c in history.columns if c != "step"],
        "sequence": None,
    }
    if seq is not None:
        ctx.artifacts.save_seek_model("sequence", seq.model, path=SEQ_DIR)
        scorer["sequence"] = {
            "k": seq.k,
            "events": seq.events,
            "scaler": asdict(seq.scaler),
            "step_names": seq.step_names,
            "logit_shift": seq.shift,
        }
    with ctx.run.writing(HISTORY) as tmp:
        history.write_parquet(tmp)
    ctx.artifacts.record("history", "parquet", HISTORY)
    ctx.run.write_json(SCORER, scorer)
    ctx.artifacts.record("scorer", "json", SCORER)


class FraudPredictor:
    """Scores transactions one by one from online state; every answer carries its reason codes."""

    def __init__(self, scorer: dict[str, Any], booster: lgb.Booster, seq_model: Any = None) -> None:
        from seek_finance.app import FeatureConfig
        from seek_finance.model import Fusion, StepScaler
        from seek_finance.online import OnlineState
        from seek_finance.records import RecordChecker

        self.scorer = scorer
        self.names: list[str] = scorer["names"]
        self.state = OnlineState(FeatureConfig.model_validate(scorer["feature_config"]), scorer["columns"])
        self.check = RecordChecker(scorer["modalities"], scorer["id_types"], scorer.get("timezone", "UTC"))
        self.booster = booster
        self.spw = float(scorer["scale_pos_weight"])
        self.fusion = Fusion(**scorer["fusion"])
        self.threshold = float(scorer["threshold"])
        self.top_k = int(scorer["reasons_top_k"])
        self.seq_model = seq_model
        seq = scorer.get("sequence")
        self.k = seq["k"] if seq else 0
        self.events = int(seq.get("events", 0)) if seq else 0
        self.scaler = StepScaler(**seq["scaler"]) if seq else None
        self.shift = float(seq["logit_shift"]) if seq else 0.0
        # A fusion weight of 1 gives the sequence model no say: its forward pass is skipped (seq_score None).
        self.uses_sequence = seq_model is not None and not self.fusion.ignores_sequence

    @classmethod
    def load(cls, run_dir: str | os.PathLike[str], until: datetime | None = None) -> FraudPredictor:
        """Load a finished run folder (every file checked against its manifest) and replay its history.

        ``until`` replays only the payments before it (the parity test starts at the test week). With
        ``SEEK_FINANCE_REDIS_URL`` set, the state then lives in that Redis (namespace: the run folder's
        name, or ``SEEK_FINANCE_REDIS_NAMESPACE``), written there once for all replicas.
        """
        import polars as pl

        from seek.artifacts import artifacts, load_artifact
        from seek.runs import load_run
        from seek.tracing import trace_checked
        from seek_finance.state_store import store_from_env

        run = load_run(run_dir)
        scorer = load_artifact(run, "scorer")
        if scorer.get("format") != FORMAT:
            raise DataError(f"{run.path}: scorer format {scorer.get('format')!r}; this seek-finance reads {FORMAT}")
        booster = load_artifact(run, "lightgbm")
        seq_model = None
        if scorer.get("sequence") and "sequence" in artifacts(run):
            seq_model = load_artifact(run, "sequence")
            seq_model = trace_checked(seq_model, _examples(seq_model), atol=1e-6).module
        predictor = cls(scorer, booster, seq_model)
        history = load_artifact(run, "history")
        if until is not None:
            history = history.filter(pl.col("timestamp") < until)
        has_step = "step" in history.columns
        for row in history.iter_rows(named=True):
            step = np.asarray(row.pop("step"), dtype=np.float64) if has_step else None
            predictor.state.observe(row, step)
        shared = store_from_env(namespace=run.path.name)  # SEEK_FINANCE_REDIS_URL set: state in Redis
        if shared is not None:
            predictor.state.move_to(shared)
        return predictor

    def predict(self, batch: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Score each transaction in order, then add it to the state; returns score, is_fraud and reasons."""
        if isinstance(batch, (Mapping, str, bytes)) or not hasattr(batch, "__iter__"):
            raise DataError(f"predict() takes a list of records, got {type(batch).__name__}")
        return [self._one(i, tx) for i, tx in enumerate(batch)]

    def _one(self, i: int, record: Any) -> dict[str, Any]:
        from seek_finance.model import lgbm_probability, reason_codes, step_vectors

        tx = self.check(i, record)
        try:
            values = self.state.features(tx)
        except DataError as exc:
            raise DataError(f"record {i} (transaction_id {tx['transaction_id']!r}): field 'timestamp': {exc}") from None
        x = np.array([[np.nan if (v := values[n]) is None else float(v) for n in self.names]], dtype=np.float64)
        # One row: OpenMP threads only add start-up and spin cost (measured 7.7 ms vs 1.9 ms per call).
        contrib = np.asarray(self.booster.predict(x, pred_contrib=True, num_threads=1))
        p_lgbm = float(lgbm_probability(contrib[:, :].sum(axis=1), self.spw)[0])
        step = None
        p_seq = None
        if self.seq_model is not None:
            step = step_vectors({n: x[:, j] for j, n in enumerate(self.names)}, self.names)[0]
            if self.uses_sequence:
                p_seq = self._sequence_score(tx, self.check.micros(tx), step)
        score = float(self.fusion(np.array([p_lgbm]), None if p_seq is None else np.array([p_seq]))[0])
        self.state.observe(tx, step)
        return {
            "transaction_id": tx["transaction_id"],
            "score": score,
            "is_fraud": score >= self.threshold,
            "reasons": reason_codes(contrib, x, self.names, self.top_k)[0],
            "lgbm_score": p_lgbm,
            "seq_score": p_seq,
        }

    def _sequence_score(self, tx: Mapping[str, Any], t: int, step: np.ndarray) -> float:
        import torch

        from seek_finance.model import assemble, sequence_logits, sequence_probability, session_codes

        assert self.scaler is not None
        previous = self.state.previous_steps(tx["customer_id"], t, self.k - 1)
        steps = np.stack([np.asarray(s, dtype=np.float64) for _, s in previous] + [step])
        seconds = np.array([ts for ts, _ in previous] + [t], dtype=np.float64) / 1e6
        n = steps.shape[0]
        index = np.full((1, self.k), -1, dtype=np.int64)
        index[0, self.k - n :] = np.arange(n)
        if self.events:
            codes = session_codes([tx.get("session_events")], self.events)
            duration = tx.get("session_seconds")
            x, mask = assemble(
                self.scaler(steps), seconds, index, codes, np.array([np.nan if duration is None else duration])
            )
        else:
            x, mask = assemble(self.scaler(steps), seconds, index)
        # One sequence: a second intra-op thread only adds wake-up and spin cost (1.2 ms vs 125 ms CPU per
        # forward measured on the busy 2-core VM); the process's setting is restored after the call.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            logits = sequence_logits(self.seq_model, x, mask)
        finally:
            torch.set_num_threads(threads)
        return float(sequence_probability(logits, self.shift)[0])


def _examples(model: Any) -> list[tuple[Any, Any]]:
    """Inputs with every possible amount of history, for the trace's equivalence check."""
    import torch

    dim, length = int(model.config.input_dim), int(model.config.max_len)
    rng = torch.Generator().manual_seed(0)
    out = []
    for n in range(length, 0, -1):  # the full sequence first: the trace is recorded on it
        mask = torch.zeros(1, length, dtype=torch.bool)
        mask[0, length - n :] = True
        out.append((torch.randn(1, length, dim, generator=rng) * mask[..., None], mask))
    return out


def example_payments(run_dir: str | os.PathLike[str], n: int = 4) -> list[dict[str, Any]]:
    """``n`` valid records for the run's predictor: its last payments one minute later, with new ids."""
    from seek.artifacts import load_artifact
    from seek.runs import load_run

    history = load_artifact(load_run(run_dir), "history")
    last = history.drop("step", "is_fraud", strict=False).tail(n).to_dicts()
    top = history.get_column("timestamp").max()
    out = []
    for j, row in enumerate(last):
        row["timestamp"] = top + timedelta(minutes=1 + j)
        row["transaction_id"] = (
            f"example-{j}" if isinstance(row["transaction_id"], str) else int(history["transaction_id"].max()) + 1 + j
        )
        out.append(row)
    return out
