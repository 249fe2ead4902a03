"""The logistics-eta run: quarters -> features -> every continual strategy on the same stream -> report.

Also what ``seek update`` shares with it: the learner the core's stream runner drives, the split of a
quarter, and writing a model version (model, features, continual state, held-out sets, drift profile).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from seek.errors import DataError

if TYPE_CHECKING:
    import polars as pl
    import torch

    from seek.app import Report, RunContext
    from seek.continual.state import ContinualState
    from seek.continual.strategies import StreamSettings, Task
    from seek_logistics.app import LogisticsConfig
    from seek_logistics.features import FeatureSpace

CONTINUAL_FILE = "continual.json"
UPDATE_STRATEGIES = ("naive", "ewc", "online-ewc", "replay")


def key(name: str) -> str:
    """A strategy or quarter name as part of a metric key (``online-ewc`` -> ``online_ewc``)."""
    return name.replace("-", "_").lower()


class EtaLearner:
    """Builds, fits (through ``ctx.trainer``) and scores the ETA model for the core's continual runner."""

    primary = "mae"

    def __init__(self, config: LogisticsConfig, ctx: RunContext, space: FeatureSpace) -> None:
        from seek_logistics.model import loss_fn, sample_targets

        self.config, self.ctx, self.space = config, ctx, space
        self.loss_fn = loss_fn(config.late_weight)
        self.sample_targets = sample_targets

    def model_config(self) -> dict[str, Any]:
        """The builder arguments saved beside the weights."""
        m = self.config.model
        return {
            "capacity": self.space.capacity,
            "embedding_dim": m.embedding_dim,
            "hidden": m.hidden,
            "layers": m.layers,
        }

    def new_model(self) -> torch.nn.Module:
        """A fresh model, initialised from the run's seed."""
        import torch

        from seek_logistics.model import build

        torch.manual_seed(self.ctx.seed)
        return build(**self.model_config())  # type: ignore[no-any-return]

    def fit(self, model: torch.nn.Module, train: Any, val: Any, callbacks: list[Any], name: str) -> None:
        """Train in place with the core Trainer; early stopping and best-epoch restore on the val split."""
        t = self.config.train
        cfg = self.ctx.trainer_config(
            epochs=t.epochs,
            batch_size=t.batch_size,
            lr=t.lr,
            weight_decay=0.0,
            early_stopping_patience=t.patience,
            monitor="val_loss",
            mode="min",
        )
        trainer = self.ctx.trainer(model, cfg, name=name, callbacks=callbacks, loss_fn=self.loss_fn)
        trainer.fit(train, val, resume=self.ctx.resume)

    def predict(self, model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Raw (B, 2) outputs in eval mode."""
        import torch

        was = model.training
        model.eval()
        with torch.no_grad():
            out = model(x).float()
        model.train(was)
        return out

    def errors(self, model: torch.nn.Module, data: dict[str, torch.Tensor]) -> dict[str, float]:
        """MAE and MAPE in hours."""
        from seek_logistics.evaluate import errors

        out = self.predict(model, data["x"])
        return errors(self.space.hours(data["y"][:, 0].numpy()), self.space.hours(out[:, 0].numpy()))

    def late_auc(self, model: torch.nn.Module, data: dict[str, torch.Tensor]) -> float:
        """AUC of the late head on ``data``."""
        import torch

        from seek_logistics.evaluate import late_auc

        out = self.predict(model, data["x"])
        return late_auc(data["y"][:, 1].numpy(), torch.sigmoid(out[:, 1]).numpy())


def settings(config: LogisticsConfig, seed: int) -> StreamSettings:
    """The continual knobs of the config as the core's StreamSettings."""
    from seek.continual.strategies import StreamSettings

    c = config.continual
    return StreamSettings(
        lambdas=tuple(c.lambdas),
        tolerance=c.tolerance,
        gamma=c.gamma,
        fisher_variant=c.fisher,
        fisher_samples=c.fisher_samples,
        replay_capacity=c.replay_capacity,
        replay_batch=c.replay_batch,
        seed=seed,
    )


def split(frame: pl.DataFrame, seed: int, val: float, test: float) -> dict[str, pl.DataFrame]:
    """Random train/val/test rows of one quarter (seeded)."""
    import numpy as np

    n = frame.height
    order = np.random.default_rng(seed).permutation(n)
    n_test, n_val = round(n * test), round(n * val)
    if n - n_test - n_val < 10 or n_val < 2 or n_test < 2:
        raise DataError(f"a quarter has {n} shipments: too few to split into train/val/test")
    parts = {"test": order[:n_test], "val": order[n_test : n_test + n_val], "train": order[n_test + n_val :]}
    return {name: frame[np.sort(rows)] for name, rows in parts.items()}


def load_quarters(config: LogisticsConfig, ctx: RunContext) -> list[tuple[str, pl.DataFrame]]:
    """The user's table or the simulator's stream, validated by the core pipeline, cut into quarters."""
    from seek_logistics.data import quarters, validate_frame
    from seek_logistics.simulate import SimulatorConfig, simulate

    if ctx.data is not None:
        frame = ctx.load_table().frame
    else:
        s = config.simulator
        with ctx.stage("simulate"):
            raw = simulate(SimulatorConfig(s.quarters, s.shipments_per_quarter, s.seed, s.start_year))
            frame, rejected = validate_frame(raw)
        ctx.reject(rejected)
    found = quarters(frame)
    if len(found) < 2:
        raise DataError(f"the shipments cover {len(found)} calendar quarter(s); a continual run needs at least 2")
    # Drift is judged against the quarter the served model learnt last, as a request carries it (no label).
    from seek_logistics.features import RECORD_FIELDS

    ctx.reference(found[-1][1].select(RECORD_FIELDS))
    return found


def tasks_of(
    found: Sequence[tuple[str, pl.DataFrame]], space: FeatureSpace, config: LogisticsConfig, seed: int
) -> tuple[list[Task], dict[str, pl.DataFrame]]:
    """Split each quarter, grow the vocabularies in arrival order, encode; also return the test rows."""
    from seek.continual.strategies import Task

    tasks, tests = [], {}
    for i, (name, frame) in enumerate(found):
        parts = split(frame, seed * 1009 + i, config.val_fraction, config.test_fraction)
        space.extend(parts["train"])
        tasks.append(Task(name, *(space.tensors(parts[p]) for p in ("train", "val", "test"))))
        tests[name] = parts["test"]
    return tasks, tests


def save_version(
    ctx: RunContext,
    learner: EtaLearner,
    models: dict[str, Any],
    states: dict[str, ContinualState],
    deploy: str,
    holdout: pl.DataFrame,
    last_quarter: pl.DataFrame,
    record: dict[str, Any],
) -> None:
    """Write one model version: ``eta`` (deployed), each branch's model and state, features, held-out sets, profile."""
    from seek.continual.drift import profile
    from seek.continual.lineage import training_schema, write_training_schema
    from seek_logistics.data import CATEGORICAL, FIELDS, NUMERIC
    from seek_logistics.model import BUILDER

    art = ctx.artifacts
    config = learner.model_config()
    art.save_module("eta", models[deploy], builder=BUILDER, config=config, meta={"strategy": deploy})
    for name, state in states.items():
        art.save_module(f"eta-{name}", models[name], builder=BUILDER, config=config, meta={"strategy": name})
        path = f"continual/{name}.safetensors"
        state.save(ctx.run, path)
        art.record(f"state-{name}", "safetensors", path, meta={"strategy": name, "bytes": state.nbytes})
    ctx.run.write_json("features.json", learner.space.to_json())
    art.record("features", "json", "features.json")
    with ctx.run.writing("holdout.parquet") as tmp:
        holdout.write_parquet(tmp)
    art.record("holdout", "parquet", "holdout.parquet", meta={"quarters": record["quarters"]})
    ctx.run.write_json("profile.json", profile(last_quarter, NUMERIC, CATEGORICAL))
    art.record("profile", "json", "profile.json", meta={"quarter": record["quarters"][-1]})
    ctx.run.write_json(CONTINUAL_FILE, record)
    write_training_schema(ctx.run, training_schema(last_quarter, list(FIELDS)))


def run_stream_app(config: LogisticsConfig, ctx: RunContext) -> Report:
    """Simulate (or read) the quarters, run every strategy side by side, report the matrices and decay."""
    import polars as pl

    from seek.continual.strategies import run_stream
    from seek_logistics.data import FIELDS
    from seek_logistics.features import FeatureSpace
    from seek_logistics.report import stream_report

    found = load_quarters(config, ctx)
    with ctx.stage("features"):
        first = split(found[0][1], ctx.seed * 1009, config.val_fraction, config.test_fraction)["train"]
        space = FeatureSpace.fit(first, config.model.capacity)
        tasks, tests = tasks_of(found, space, config, ctx.seed)
    learner = EtaLearner(config, ctx, space)
    with ctx.stage("stream"):
        result = run_stream(tasks, learner, list(config.strategies), settings(config, ctx.seed))
    kept = [s for s in config.strategies if s in UPDATE_STRATEGIES]
    holdout = pl.concat([tests[t.name].select(*FIELDS, "quarter") for t in tasks])
    record = {
        "quarters": result.tasks,
        "deploy": config.deploy,
        "diagonal": {s: [result.errors[s]["mae"][j][j] for j in range(len(tasks))] for s in kept},
        "diagonal_mape": {s: [result.errors[s]["mape"][j][j] for j in range(len(tasks))] for s in kept},
    }
    with ctx.stage("save"):
        save_version(
            ctx,
            learner,
            result.models,
            {s: result.states[s] for s in kept},
            config.deploy,
            holdout,
            found[-1][1],
            record,
        )
    late = {s: learner.late_auc(result.models[s], tasks[-1].test) for s in config.strategies}
    return stream_report(config, ctx, result, late, [t.train["x"].shape[0] for t in tasks])
