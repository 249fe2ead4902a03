"""The ``logistics-eta`` app and its Config (light at import: no polars or torch here)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from seek.app import App, AppConfig, Report, RunContext
from seek.artifacts import ArtifactSpec
from seek.continual.spec import ContinualSpec
from seek_logistics.data import _LazySpec

if TYPE_CHECKING:
    from seek.runs import VerifiedRun
    from seek_logistics.serve import EtaPredictor

Strategy = Literal["naive", "ewc", "online-ewc", "replay", "joint"]


class SimulatorSection(AppConfig):
    """The built-in shipments simulator (left out of config.json when --data is given)."""

    quarters: int = Field(4, ge=2, le=12, description="quarters simulated (4 = one year)")
    shipments_per_quarter: int = Field(3000, ge=100, le=1_000_000, description="shipments per quarter (Q4: +25%)")
    seed: int = Field(0, ge=0, description="simulator seed (same seed, same shipments)")
    start_year: int = Field(2024, ge=2000, le=2100, description="year of the first quarter")


class ModelSection(AppConfig):
    """The ETA network: categorical embeddings + an MLP with an hours head and a late head."""

    capacity: int = Field(16, ge=2, le=4096, description="slots per categorical field (new values fill them)")
    embedding_dim: int = Field(4, ge=1, le=256)
    hidden: int = Field(64, ge=4, le=4096)
    layers: int = Field(2, ge=1, le=8)


class TrainSection(AppConfig):
    """Trainer settings of every fit (first quarter, each update, each lambda candidate)."""

    epochs: int = Field(12, ge=1, le=1000)
    batch_size: int = Field(128, ge=1, le=65536)
    lr: float = Field(3e-3, gt=0, le=1.0)
    patience: int = Field(3, ge=1, description="early stopping on the quarter's validation loss")


class ContinualSection(AppConfig):
    """EWC, online EWC and replay settings."""

    lambdas: list[float] = Field(
        [1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0], min_length=1, description="lambda grid, tried upwards"
    )
    tolerance: float = Field(0.05, ge=0, le=1, description="new-quarter val MAE allowed above the unpenalised fit")
    gamma: float = Field(0.9, gt=0, le=1, description="online EWC: decay of the running Fisher per quarter")
    fisher: Literal["empirical", "true", "batched"] = Field("true", description="see seek.continual.fisher")
    fisher_samples: int = Field(512, ge=8, le=100_000, description="training samples per Fisher estimate")
    replay_capacity: int = Field(300, ge=1, le=1_000_000, description="replay buffer size (shipments, all quarters)")
    replay_batch: int = Field(32, ge=1, le=65536, description="replayed samples added to each batch")

    @field_validator("fisher", mode="before")
    @classmethod
    def _true_is_a_name(cls, value: Any) -> Any:
        # `--set continual.fisher=true` arrives as the JSON literal true: it names the true Fisher
        return "true" if value is True else value


class LogisticsConfig(AppConfig):
    """Settings of a logistics-eta run."""

    simulator: SimulatorSection = Field(default_factory=SimulatorSection)
    model: ModelSection = Field(default_factory=ModelSection)
    train: TrainSection = Field(default_factory=TrainSection)
    continual: ContinualSection = Field(default_factory=ContinualSection)
    strategies: list[Strategy] = Field(
        ["naive", "ewc", "online-ewc", "replay", "joint"], min_length=1, description="strategies run side by side"
    )
    deploy: Literal["naive", "ewc", "online-ewc", "replay"] = Field(
        "online-ewc", description="whose model is the run's `eta` artifact (seek update continues each branch)"
    )
    late_weight: float = Field(0.5, ge=0, le=10, description="weight of the late-probability head's loss")
    val_fraction: float = Field(0.15, gt=0, lt=0.5)
    test_fraction: float = Field(0.15, gt=0, lt=0.5)
    threads: int = Field(1, ge=1, le=256, description="torch CPU threads (the model is small: 1 is fastest)")

    @model_validator(mode="after")
    def _deploy_is_run(self) -> LogisticsConfig:
        if self.deploy not in self.strategies:
            raise ValueError(f"deploy: {self.deploy!r} is not among strategies {self.strategies}")
        return self


class LogisticsApp(App[LogisticsConfig]):
    """Delivery-time prediction kept up to date quarter by quarter with EWC (and its rivals, side by side)."""

    name: ClassVar[str] = "logistics-eta"
    summary: ClassVar[str] = "Delivery-time (ETA) model updated each quarter: naive, EWC, online EWC, replay, joint"
    Config: ClassVar[type[AppConfig]] = LogisticsConfig
    data = _LazySpec()  # type: ignore[assignment]
    tiny: ClassVar[dict[str, Any]] = {
        "simulator": {"quarters": 3, "shipments_per_quarter": 400},
        "train": {"epochs": 3, "batch_size": 64},
        "continual": {"lambdas": [10.0, 1000.0], "fisher_samples": 64, "replay_capacity": 64},
    }
    artifacts: ClassVar[tuple[ArtifactSpec, ...]] = (
        ArtifactSpec("eta", "torch-module", "the deployed ETA model (hours + late probability)"),
        ArtifactSpec("features", "json", "scalers and category vocabularies (fixed slots)"),
        ArtifactSpec("holdout", "parquet", "each quarter's held-out test shipments (decay after updates)"),
        ArtifactSpec("profile", "json", "the last quarter's feature distributions (drift of the next one)"),
        ArtifactSpec("state-online-ewc", "safetensors", "online EWC: running Fisher diagonal + anchor", required=False),
        ArtifactSpec("state-ewc", "safetensors", "EWC: one Fisher diagonal + anchor per quarter", required=False),
    )
    headline: ClassVar[tuple[str, ...]] = (
        "decay_ewc",
        "decay_online_ewc",
        "decay_naive",
        "decay_replay",
        "mae_last_quarter_ewc",
        "mae_last_quarter_naive",
    )
    continual: ClassVar[ContinualSpec | None] = ContinualSpec(default="online-ewc")

    def run(self, config: LogisticsConfig, ctx: RunContext) -> Report:
        """Simulate or read the quarters, run every strategy on the same stream, report decay and errors."""
        from seek_logistics.pipeline import run_stream_app

        with _threads(config.threads):
            return run_stream_app(config, ctx)

    def update(self, config: LogisticsConfig, ctx: RunContext, parent: VerifiedRun, strategy: str) -> Report:
        """One quarter's update of the parent's ``strategy`` branch (``seek update logistics-eta``)."""
        from seek_logistics.update import update_run

        with _threads(config.threads):
            return update_run(config, ctx, parent, strategy)

    def predictor(self, run_dir: str | os.PathLike[str]) -> EtaPredictor:
        """ETA (hours, timestamp, late probability) for one shipment or a batch."""
        from seek_logistics.serve import EtaPredictor

        return EtaPredictor(run_dir)

    def example_records(self, run_dir: str | os.PathLike[str], n: int = 4) -> list[dict[str, Any]]:
        """The first ``n`` held-out shipments of the run as predictor records."""
        from seek.artifacts import load_artifact
        from seek.runs import load_run
        from seek_logistics.features import RECORD_FIELDS

        frame = load_artifact(load_run(run_dir), "holdout").head(n)
        rows = frame.select(RECORD_FIELDS).to_dicts()
        for row in rows:
            for name in ("created_at", "promised_at"):
                row[name] = row[name].isoformat()
        return rows  # type: ignore[no-any-return]


class _threads:
    """Set torch's CPU threads for the run and put them back after."""

    def __init__(self, count: int) -> None:
        self.count, self.previous = count, 0

    def __enter__(self) -> None:
        import torch

        self.previous = torch.get_num_threads()
        torch.set_num_threads(self.count)

    def __exit__(self, *exc: object) -> None:
        import torch

        torch.set_num_threads(self.previous)
