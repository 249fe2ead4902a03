"""``seek update``: verified parent, one-line refusals, a new sealed run folder with lineage."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import polars as pl
import pytest
import torch

from seek.app import App, AppConfig, Report
from seek.artifacts import load_artifact
from seek.continual.spec import ContinualSpec
from seek.data.schema import Field, Schema
from seek.data.spec import DataSpec
from seek.testing import PluginHarness
from seek.training import Trainer, TrainerConfig


class Line(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(1, 1)

    def forward(self, x, mask=None):
        return self.linear(x)


def build() -> Line:
    return Line()


def _tensors(frame: pl.DataFrame) -> dict[str, torch.Tensor]:
    return {
        "x": torch.tensor(frame["km"].to_list()).reshape(-1, 1),
        "y": torch.tensor(frame["hours"].to_list()).reshape(-1, 1),
    }


def _loss(out, batch):
    return torch.nn.functional.mse_loss(out, batch["y"])


class ToyConfig(AppConfig):
    epochs: int = 2


SCHEMA = Schema([Field("km", "float", required=True), Field("hours", "float", required=True)], extra="drop")


class ToyContinualApp(App[ToyConfig]):
    """A line fitted to (km, hours); updatable with EWC through seek.continual."""

    name: ClassVar[str] = "toy-continual"
    summary: ClassVar[str] = "toy"
    Config: ClassVar[type[AppConfig]] = ToyConfig
    data: ClassVar[DataSpec | None] = DataSpec(schema=SCHEMA)
    continual: ClassVar[ContinualSpec | None] = ContinualSpec(strategies=("naive", "online-ewc"), default="online-ewc")

    def _fit(self, model, frame, ctx, callbacks, name) -> None:
        config = TrainerConfig(epochs=2, batch_size=8, early_stopping_patience=None, seed=ctx.seed)
        Trainer(model, config, loss_fn=_loss, callbacks=callbacks, progress=False).fit(_tensors(frame))

    def _save(self, ctx, model, state, frame) -> None:
        from seek.continual.lineage import training_schema, write_training_schema

        ctx.artifacts.save_module("line", model, builder=f"{__name__}:build", config={})
        state.save(ctx.run, "state.safetensors")
        ctx.artifacts.record("state-online-ewc", "safetensors", "state.safetensors")
        write_training_schema(ctx.run, training_schema(frame))

    def run(self, config: ToyConfig, ctx: Any) -> Report:
        from seek.continual.fisher import estimate_fisher
        from seek.continual.state import ContinualState

        frame = ctx.load_table().frame
        model, state = Line(), ContinualState("online-ewc", gamma=0.9)
        self._fit(model, frame, ctx, [], "first")
        state.consolidate(model, estimate_fisher(model, _tensors(frame), _loss, n_samples=16))
        self._save(ctx, model, state, frame)
        return Report(metrics={"state_bytes": state.nbytes})

    def update(self, config: ToyConfig, ctx: Any, parent: Any, strategy: str) -> Report:
        from seek.continual.fisher import estimate_fisher
        from seek.continual.penalty import EWCPenalty
        from seek.continual.state import ContinualState

        model = load_artifact(parent, "line").train()
        state = ContinualState.load(parent.file("state.safetensors"))
        frame = ctx.load_table().frame
        callbacks = [EWCPenalty(state, 10.0)] if strategy == "online-ewc" else []
        self._fit(model, frame, ctx, callbacks, "update")
        state.consolidate(model, estimate_fisher(model, _tensors(frame), _loss, n_samples=16))
        self._save(ctx, model, state, frame)
        return Report(metrics={"state_bytes": state.nbytes, "terms": len(state.fisher)})


class _Plugin:
    from seek import hookimpl

    @hookimpl
    def seek_apps(self) -> list[Any]:
        return [ToyContinualApp()]


@pytest.fixture
def harness() -> PluginHarness:
    harness = PluginHarness()
    harness.register(_Plugin(), name="toy-continual")
    return harness


def _write(path, km_offset: float = 0.0, **extra) -> None:
    frame = pl.DataFrame({"km": [float(i) + km_offset for i in range(40)], "hours": [2.0 * i for i in range(40)]})
    frame.with_columns(**{k: pl.lit(v) for k, v in extra.items()}).write_parquet(path)


@pytest.fixture
def parent(harness, tmp_path):
    _write(tmp_path / "q1.parquet")
    result = harness.invoke(
        "run", "toy-continual", "--data", str(tmp_path / "q1.parquet"), "--out", str(tmp_path / "p")
    )
    assert result.exit_code == 0, result.output
    return tmp_path / "p"


def test_update_writes_a_new_sealed_run_with_lineage(harness, parent, tmp_path) -> None:
    from seek.runs import load_run

    _write(tmp_path / "q2.parquet", km_offset=3.0)
    out = tmp_path / "u1"
    args = ("update", "toy-continual", "--from", str(parent), "--data", str(tmp_path / "q2.parquet"), "--out", str(out))
    result = harness.invoke(*args)
    assert result.exit_code == 0, result.output
    run = load_run(out)
    lineage = run.read_json("lineage.json")
    assert lineage["parent"]["run"] == str(parent.resolve()) and lineage["strategy"] == "online-ewc"
    assert (
        lineage["parent"]["manifest_sha256"]
        == __import__("hashlib").sha256((parent / "manifest.json").read_bytes()).hexdigest()
    )
    assert lineage["data"]["sha256"] and lineage["state_files"] == {"state-online-ewc": "state.safetensors"}
    assert run.read_json("run.json")["status"] == "finished" and "lineage.json" in run.files
    assert run.metrics["state_bytes"] == json.loads((parent / "metrics.json").read_text())["state_bytes"]


def test_update_refuses_a_mismatched_schema_in_one_line(harness, parent, tmp_path) -> None:
    _write(tmp_path / "bad.parquet", carrier="X")
    out = tmp_path / "u-bad"
    result = harness.invoke(
        "update", "toy-continual", "--from", str(parent), "--data", str(tmp_path / "bad.parquet"), "--out", str(out)
    )
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "field 'carrier' was not in the training data" in lines[0]
    assert not out.exists()


def test_update_refuses_an_app_without_continual_support_and_a_changed_parent(harness, parent, tmp_path) -> None:
    _write(tmp_path / "q2.parquet")
    result = harness.invoke(
        "update", "quickstart-digits", "--from", str(parent), "--data", str(tmp_path / "q2.parquet")
    )
    assert result.exit_code != 0 and "does not read user data" in result.stderr
    (parent / "metrics.json").write_text("{}")
    result = harness.invoke("update", "toy-continual", "--from", str(parent), "--data", str(tmp_path / "q2.parquet"))
    assert result.exit_code == 1 and "sha256 does not match" in result.stderr


def test_update_refuses_a_strategy_the_app_does_not_offer(harness, parent, tmp_path) -> None:
    _write(tmp_path / "q2.parquet")
    args = ("update", "toy-continual", "--from", str(parent), "--data", str(tmp_path / "q2.parquet"))
    result = harness.invoke(*args, "--strategy", "replay")
    assert result.exit_code == 2 and "updates with naive, online-ewc" in result.stderr
