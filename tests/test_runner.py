"""The run lifecycle: validate first, finished before the sealed manifest, failures recorded, resume faithful."""

from __future__ import annotations

import json

import pytest
from pydantic import Field

import seek
from seek.data.spec import DataSpec
from seek.errors import ConfigError, DataError, RunError
from seek.runner import RunSettings, config_record, execute


class SimConfig(seek.AppConfig):
    size: int = Field(3, ge=1)


class StatsConfig(seek.AppConfig):
    scale: float = 1.0
    simulator: SimConfig = SimConfig()
    fail: str = ""


class StatsApp(seek.App[StatsConfig]):
    name = "stats-test"
    summary = "test app"
    Config = StatsConfig
    data = DataSpec(builtin="simulator")

    def run(self, config, ctx):
        with ctx.stage("compute"):
            if config.fail == "data":
                raise DataError("tx.csv: row 3, field 'amount': not a number")
            if config.fail == "bug":
                raise KeyError("oops")
        return seek.Report(metrics={"value": config.scale * config.simulator.size})


def test_a_finished_run_records_status_timings_and_seals_last(tmp_path):
    result = execute(StatsApp(), StatsConfig(), out=tmp_path / "r", device="cpu")
    meta = json.loads((result.path / "run.json").read_text())
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert meta["status"] == "finished" and "run.json" in manifest["files"]
    metrics = json.loads((result.path / "metrics.json").read_text())
    assert metrics["value"] == 3 and "time_compute_s" in metrics
    assert "Stage timings" in (result.path / "report.md").read_text()


def test_a_user_error_inside_a_stage_is_recorded_and_reraised(tmp_path):
    with pytest.raises(DataError, match="row 3"):
        execute(StatsApp(), StatsConfig(fail="data"), out=tmp_path / "r", device="cpu")
    meta = json.loads((tmp_path / "r" / "run.json").read_text())
    assert meta["status"] == "failed" and meta["failed_after_stage"] == "compute"
    assert not (tmp_path / "r" / "manifest.json").exists()


def test_a_bug_inside_a_stage_becomes_one_line_naming_the_stage(tmp_path):
    with pytest.raises(RunError, match="stats-test failed after stage compute: KeyError") as info:
        execute(StatsApp(), StatsConfig(fail="bug"), out=tmp_path / "r", device="cpu")
    assert isinstance(info.value.__cause__, KeyError)  # the traceback stays available to --debug


def test_an_unavailable_device_fails_before_the_folder_exists(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="CUDA is not available"):
        execute(StatsApp(), StatsConfig(), out=tmp_path / "r", device="cuda")
    assert not (tmp_path / "r").exists()


def test_a_run_on_a_file_leaves_the_simulator_section_out(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a\n1\n")
    data = StatsApp.data.open(path)
    assert "simulator" in config_record(StatsApp(), StatsConfig(), None)
    assert "simulator" not in config_record(StatsApp(), StatsConfig(), data)


def test_resume_takes_seed_and_device_from_the_folder_and_keeps_the_start(tmp_path):
    out = tmp_path / "r"
    with pytest.raises(RunError):
        execute(StatsApp(), StatsConfig(fail="bug"), out=out, device="cpu", seed=5)
    started = json.loads((out / "run.json").read_text())["started"]
    (out / "config.json").write_text(json.dumps(StatsConfig(scale=2.0).model_dump(mode="json")))
    execute(StatsApp(), StatsConfig(), RunSettings(out=out, resume=True))
    meta = json.loads((out / "run.json").read_text())
    assert (meta["seed"], meta["device"], meta["started"], meta["status"]) == (5, "cpu", started, "finished")
    assert len(meta["resumed"]) == 1 and "error" not in meta


def test_a_sealed_run_cannot_be_resumed(tmp_path):
    execute(StatsApp(), StatsConfig(), out=tmp_path / "r", device="cpu")
    with pytest.raises(RunError, match="already finished"):
        execute(StatsApp(), StatsConfig(), out=tmp_path / "r", resume=True)
