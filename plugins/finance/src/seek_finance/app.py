"""The ``finance-fraud`` app and its nested Config (light at import: no polars, torch or lightgbm here)."""

from __future__ import annotations

import datetime as dt
import os
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from seek.app import App, AppConfig, Predictor, Report, RunContext, TuneSpec
from seek.artifacts import ArtifactSpec
from seek.durations import Duration
from seek.training.config import TrainerConfig
from seek_finance.state_store import STEPS_KEPT

if TYPE_CHECKING:
    from seek.data.spec import DataSpec


class SimulatorConfig(AppConfig):
    """The built-in simulator (Handbook generator + devices and sessions); unused when --data is given."""

    n_customers: int = Field(5000, ge=10, description="customers (cards)")
    n_terminals: int = Field(10000, ge=10, description="terminals (merchants)")
    n_days: int = Field(136, ge=1, description="days simulated from start_date (136 ends 2018-08-14)")
    start_date: dt.date = Field(dt.date(2018, 4, 1), description="first simulated day")
    radius: float = Field(5.0, gt=0, description="a customer pays at terminals within this grid distance")
    seed: int = Field(0, description="random seed (same seed, same data)")
    compromised_terminals_per_day: float = Field(2.0, ge=0, description="scenario 2 rate (per 10 000 terminals)")
    compromised_customers_per_day: float = Field(3.0, ge=0, description="scenario 3 rate (per 5 000 customers)")
    takeovers_per_day: float = Field(2.0, ge=0, description="scenario 4 (account takeover) rate (per 5 000)")
    devices: bool = Field(True, description="add device ids and IP geolocation")
    sessions: bool = Field(True, description="add behaviour sessions")


def _windows(values: list[timedelta]) -> list[timedelta]:
    for value in values:
        if value <= timedelta(0):
            raise ValueError("a window must be longer than zero")
    return values


class FeatureConfig(AppConfig):
    """Window lengths of the features and the label delay (when a fraud label becomes known)."""

    customer_windows: list[Duration] = Field(
        [timedelta(minutes=15), timedelta(hours=1), timedelta(hours=6), timedelta(days=1), timedelta(days=7),
         timedelta(days=30)],
        description="card windows: count, sum, mean, max of amounts",
    )  # fmt: skip
    distinct_windows: list[Duration] = Field(
        [timedelta(days=1), timedelta(days=7), timedelta(days=30)], description="windows of distinct terminals/devices"
    )
    terminal_windows: list[Duration] = Field(
        [timedelta(hours=1), timedelta(days=1), timedelta(days=7), timedelta(days=30)],
        description="terminal count windows",
    )
    risk_windows: list[Duration] = Field(
        [timedelta(days=1), timedelta(days=7), timedelta(days=30)],
        description="terminal risk windows, ending label_delay before the payment",
    )
    ratio_windows: list[Duration] = Field(
        [timedelta(days=1), timedelta(days=7), timedelta(days=30)],
        description="amount / card mean in these windows (each also a customer window)",
    )
    device_windows: list[Duration] = Field([timedelta(days=1)], description="device count windows")
    fraud_ages: bool = Field(
        True, description="days since the terminal's last and first known fraud within the longest risk window"
    )
    usual_window: Duration = Field(timedelta(days=30), description="window of the card's usual IP position")
    label_delay: Duration = Field(
        timedelta(days=7), description="time until a label is known: terminal risk and the protocol's delay period"
    )

    _check = field_validator(
        "customer_windows", "distinct_windows", "terminal_windows", "risk_windows", "ratio_windows", "device_windows"
    )(_windows)

    @model_validator(mode="after")
    def _ratios_are_customer_windows(self) -> FeatureConfig:
        missing = [w for w in self.ratio_windows if w not in self.customer_windows]
        if missing:
            raise ValueError(f"ratio_windows {missing[0]} must also be one of customer_windows")
        return self


class LightGBMConfig(AppConfig):
    """LightGBM settings (``--set lightgbm.num_leaves=7`` keeps every other default)."""

    rounds: int = Field(600, ge=1, description="maximum boosting rounds")
    early_stopping: int = Field(40, ge=1, description="rounds without validation AP gain before stopping")
    imbalance: Literal["none", "sqrt", "balanced"] = Field("sqrt", description="scale_pos_weight: 1, sqrt, neg/pos")
    # 15 leaves / depth 6: 63 / 8 / 20 per leaf / lr 0.05 has the best validation-week AP of the TuneSpec search
    # (0.767 vs 0.751, transactions only) and mean test AP 0.723 over 3 seeds, but its SHAP reason codes cost
    # 4x per payment (thread CPU p50 10.3 vs 2.6 ms, p99 16.0 vs 3.3 ms), past the 5 ms online budget; it is
    # a `--set` away (BENCHMARKS.md "Finance v2").
    learning_rate: float = Field(0.1, gt=0, le=1)
    num_leaves: int = Field(15, ge=2)
    max_depth: int = Field(6, ge=-1)
    min_child_samples: int = Field(50, ge=1)
    max_bin: int = Field(63, ge=2)
    feature_fraction: float = Field(0.8, gt=0, le=1)
    bagging_fraction: float = Field(0.8, gt=0, le=1)
    bagging_freq: int = Field(1, ge=0)
    lambda_l2: float = Field(1.0, ge=0)
    seed: int = Field(0, ge=0)

    def params(self, threads: int) -> dict[str, Any]:
        """LightGBM's parameter dict (without the rounds, early stopping and imbalance settings)."""
        skip = {"rounds", "early_stopping", "imbalance"}
        return {"num_threads": threads, **{k: v for k, v in self.model_dump().items() if k not in skip}}


def _sequence_trainer() -> TrainerConfig:
    return TrainerConfig(
        epochs=3,
        batch_size=512,
        lr=3e-3,
        weight_decay=0.01,
        warmup_ratio=0.05,
        early_stopping_patience=2,
        monitor="val_loss",
        mode="min",
    )


class SequenceConfig(AppConfig):
    """The Seek transformer over each card's last ``k`` payments."""

    enabled: bool = Field(True, description="train the sequence model (off: LightGBM alone)")
    preset: Literal["tiny", "small", "base", "large", "xl"] = Field("tiny", description="SeekConfig preset")
    num_heads: int | None = Field(None, ge=1, description="attention heads (None: the preset's; must divide its width)")
    k: int = Field(
        8, ge=2, le=STEPS_KEPT, description=f"payments per sequence (<= {STEPS_KEPT}, the steps the online state keeps)"
    )
    events: int = Field(
        8,
        ge=0,
        le=64,
        description="the payment's last session events as their own positions (0: none; data without sessions: none)",
    )
    readout: Literal["current", "mean"] = Field(
        "current", description="fraud logits at the current payment's position, or pooled over all positions"
    )
    segment: int = Field(8, ge=1, description="positions per local-attention segment of the Seek transformer")
    # A card's sequence is at most k + events positions: the hierarchy has nothing to summarise there, and
    # full attention gave the same AP on both data kinds at a third of the training time and a quarter of
    # the served forward (BENCHMARKS.md, "full attention on the short sequence").
    full_attention_below: int = Field(
        1024,
        ge=0,
        description="sequences shorter than this run plain full attention (SeekConfig.full_attention_below; 0: never)",
    )
    max_train: int = Field(
        40000, ge=0, description="training sequences: every fraud plus sampled genuine ones (0: every payment)"
    )
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout (none: 40,000 sequences for 40k weights underfit)")
    trainer: TrainerConfig = Field(default_factory=_sequence_trainer, description="core Trainer settings")

    @field_validator("num_heads")
    @classmethod
    def _heads_divide_width(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None:
            return value
        from seek.models.config import PRESETS

        width = int(PRESETS[info.data.get("preset", "tiny")]["hidden_size"])
        if width % value:
            raise ValueError(f"{value} heads do not divide the width {width} of preset {info.data.get('preset')!r}")
        return value


class FusionConfig(AppConfig):
    """How the two scores become one."""

    mode: Literal["weighted", "logit", "stacking"] = Field(
        "logit",
        description="weighted average of probabilities or of logits (weight chosen on validation), or stacking",
    )


class ProtocolConfig(AppConfig):
    """The Handbook's protocol: periods laid out back from the test week, known-compromised cards, alert budget."""

    test_start: dt.date | None = Field(None, description="first test day; None = the last test days of data")
    test: Duration = Field(timedelta(days=7), description="test period")
    validation: Duration = Field(timedelta(days=7), description="validation period (early stopping, fusion, threshold)")
    train: Duration = Field(timedelta(days=21), description="training period")
    known_fraud_lookback: Duration = Field(
        timedelta(days=14), description="frauds since test_start minus this mark a card known-compromised"
    )
    alert_fpr: float = Field(0.003, gt=0, lt=1, description="false-positive rate the decision threshold is set to")
    prequential_folds: int = Field(
        1,
        ge=1,
        le=12,
        description="LightGBM validation folds, each train + validation shifted back one validation period "
        "(the Handbook's prequential validation, ch. 5); 1: the validation period alone",
    )


class FraudConfig(AppConfig):
    """Settings of a fraud run (sections: simulator, features, lightgbm, sequence, fusion, protocol)."""

    simulator: SimulatorConfig = Field(default_factory=SimulatorConfig)
    features: FeatureConfig = Field(default_factory=FeatureConfig)
    lightgbm: LightGBMConfig = Field(default_factory=LightGBMConfig)
    sequence: SequenceConfig = Field(default_factory=SequenceConfig)
    fusion: FusionConfig = Field(default_factory=FusionConfig)
    protocol: ProtocolConfig = Field(default_factory=ProtocolConfig)
    timezone: str = Field("UTC", description="IANA zone of naive timestamps in --data (offsets are converted)")
    threads: int = Field(2, ge=1, description="CPU threads for LightGBM and torch (1 is faster on a busy machine)")
    reasons_top_k: int = Field(3, ge=1, description="reason codes per scored transaction")
    report_top_n: int = Field(15, ge=1, description="top-scored test transactions listed with reasons")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. 'UTC', 'Europe/Brussels')") from None
        return value


class FraudApp(App[FraudConfig]):
    """Card-fraud scoring: window features, LightGBM + Seek transformer fusion, the Handbook's protocol."""

    name: ClassVar[str] = "finance-fraud"
    summary: ClassVar[str] = "Card-fraud scoring on transactions, devices and sessions (LightGBM + Seek transformer)"
    Config: ClassVar[type[AppConfig]] = FraudConfig
    tiny: ClassVar[dict[str, Any]] = {
        "simulator": {"n_customers": 300, "n_terminals": 600, "n_days": 40},
        "protocol": {"train": "14d"},
        "lightgbm": {"rounds": 60, "num_leaves": 15},
        "sequence": {"max_train": 1500, "trainer": {"epochs": 2, "batch_size": 128}},
        "report_top_n": 5,
        "threads": 1,
    }
    # LightGBM's settings are searched on LightGBM's own validation AP, averaged over the prequential folds
    # (`--set protocol.prequential_folds=4`; on the stationary simulator it chose no better than the one week,
    # BENCHMARKS.md "Prequential validation": it is for data that drifts);
    # it is read from the finished run's report (no per-epoch metric, so no pruning), and a trial may skip
    # the sequence model (`--set sequence.enabled=false`) since the fusion weight is refit on every run.
    tune: ClassVar[TuneSpec | None] = TuneSpec(
        params={
            "num_leaves": "lightgbm.num_leaves",
            "max_depth": "lightgbm.max_depth",
            "min_child_samples": "lightgbm.min_child_samples",
            "learning_rate": "lightgbm.learning_rate",
            "feature_fraction": "lightgbm.feature_fraction",
            "lambda_l2": "lightgbm.lambda_l2",
        },
        metric="lgbm_prequential_average_precision",
        direction="maximize",
        space={
            "num_leaves": "7,15,31,63",
            "max_depth": "4,6,8",
            "min_child_samples": "10:200:int",
            "learning_rate": "0.02:0.2:log",
            "feature_fraction": "0.5:1",
            "lambda_l2": "0:10",
        },
        prune=False,
    )
    artifacts: ClassVar[tuple[ArtifactSpec, ...]] = (
        ArtifactSpec("lightgbm", "lightgbm", "LightGBM on the window features (text model)"),
        ArtifactSpec(
            "sequence", "seek-transformer", "Seek transformer over each card's last k payments", required=False
        ),
        ArtifactSpec("scorer", "json", "feature spec, step scaler, fusion, threshold and reason-code settings"),
        ArtifactSpec("history", "parquet", "recent payments the predictor's online state starts from"),
    )
    headline: ClassVar[tuple[str, ...]] = (
        "auc_roc",
        "average_precision",
        "card_precision_at_100",
        "recall_at_fpr_0_3pct",
        "alerts_per_day",
        "alert_precision",
    )

    @cached_property
    def data(self) -> DataSpec:  # type: ignore[override]
        """The transactions DataSpec (built on first use: its rules are polars expressions)."""
        from seek_finance.data import transactions_spec

        return transactions_spec()

    def run(self, config: FraudConfig, ctx: RunContext) -> Report:
        """Simulate or load, build features, train both models, fuse, evaluate, save the predictor."""
        from seek_finance.pipeline import run_fraud

        return run_fraud(config, ctx)

    def predictor(self, run_dir: str | os.PathLike[str]) -> Predictor:
        """Real-time scorer of a finished run (online features, reason codes)."""
        from seek_finance.serve import FraudPredictor

        return FraudPredictor.load(run_dir)

    def example_records(self, run_dir: str | os.PathLike[str], n: int = 4) -> list[dict[str, Any]]:
        """``n`` payments that follow the run's history: its last payments moved one minute later, new ids."""
        from seek_finance.serve import example_payments

        return example_payments(run_dir, n)
