"""RunContext: stages, rejected rows, the reject-share guard and trainers wired to the run."""

from __future__ import annotations

import logging

import polars as pl
import pytest

from seek.context import RunContext
from seek.data.spec import DataSpec
from seek.errors import DataError
from seek.runs import RunFolder


@pytest.fixture
def ctx(tmp_path):
    return RunContext(RunFolder(tmp_path / "run"), seed=7, show_progress=False, data_spec=DataSpec())


def test_stages_are_timed_in_order_and_repeated_names_add_up(ctx):
    events = []
    ctx.stage_listeners.append(lambda event, name, seconds: events.append((event, name)))
    with ctx.stage("load"):
        pass
    with ctx.stage("train"):
        pass
    with ctx.stage("load"):
        pass
    assert list(ctx.timings) == ["load", "train"]
    assert [name for event, name in events if event == "start"] == ["load", "train", "load"]
    assert len(events) == 6


def test_a_failing_stage_is_still_timed(ctx):
    with pytest.raises(ZeroDivisionError), ctx.stage("features"):
        _ = 1 / 0
    assert "features" in ctx.timings


def test_rejected_rows_from_several_steps_land_in_one_parquet(ctx):
    ctx.reject(pl.DataFrame({"row": [2], "amount": ["-1"]}), reason="amount below 0")
    ctx.reject(pl.DataFrame({"row": [5], "device": ["x"]}), reason="unknown device", step="devices")
    ctx.reject(pl.DataFrame({"row": []}))
    assert ctx.rows_rejected == 2
    assert ctx.write_rejected() == 2
    frame = pl.read_parquet(ctx.path / "rejected.parquet")
    assert frame["reason"].to_list() == ["amount below 0", "unknown device"]
    assert frame["step"].to_list() == [None, "devices"]


def test_the_reject_share_warns_then_fails_unless_accepted(ctx, caplog):
    with caplog.at_level(logging.WARNING):
        ctx.check_rejects(1000, 5, "tx.csv")
        assert not caplog.records
        ctx.check_rejects(1000, 50, "tx.csv")
        assert "50 of 1,000 rows rejected (5.0%)" in caplog.text
    with pytest.raises(
        DataError, match=r"tx.csv: 300 of 1,000 rows rejected \(30.0%\).*above the 20% limit.*--accept-rejects"
    ):
        ctx.check_rejects(1000, 300, "tx.csv")
    ctx.accept_rejects = True
    ctx.check_rejects(1000, 300, "tx.csv")
    with pytest.raises(DataError, match="all 1,000 rows rejected"):
        ctx.check_rejects(1000, 1000, "tx.csv")


def test_trainer_config_carries_the_run_seed(ctx):
    assert ctx.trainer_config(epochs=2).seed == 7
    assert ctx.trainer_config(seed=3).seed == 3


def test_named_trainers_checkpoint_apart(ctx):
    import torch

    def loss(outputs, batch):
        return outputs.mean()

    first = ctx.trainer(torch.nn.Linear(2, 1), name="q1", loss_fn=loss)
    second = ctx.trainer(torch.nn.Linear(2, 1), name="q2", loss_fn=loss)
    assert first.checkpoint_dir != second.checkpoint_dir
    assert first.checkpoint_dir.is_relative_to(ctx.path / "trainers")


def test_built_in_data_goes_through_the_same_schema(tmp_path):
    from seek.data.schema import Field, Schema

    spec = DataSpec(schema=Schema([Field("x", "float", required=True, min=0)]), key=("x",))
    ctx = RunContext(RunFolder(tmp_path / "run"), show_progress=False, data_spec=spec, accept_rejects=True)
    kept = ctx.validate(pl.DataFrame({"x": [1.0, -2.0, 1.0, 3.0]}), source="simulator")
    assert kept["x"].to_list() == [1.0, 3.0]
    assert (ctx.rows_in, ctx.rows_rejected) == (4, 2)
    assert "validate" in ctx.timings
