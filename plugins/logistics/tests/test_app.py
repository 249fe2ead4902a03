"""The app end to end: the conformance suite, EWC against naive fine-tuning, the report."""

from __future__ import annotations

import json

import pytest

from seek.testing import AppConformance
from seek_logistics.app import LogisticsApp

#: Small but with real forgetting: four quarters (the Q4 peak is what naive fine-tuning overwrites Q1-Q3 with).
CI_STREAM = {
    "simulator": {"quarters": 4, "shipments_per_quarter": 700},
    "train": {"epochs": 8},
    "continual": {"lambdas": [1.0, 3.0, 10.0, 30.0, 100.0], "fisher_samples": 128, "replay_capacity": 150},
    "strategies": ["naive", "ewc", "online-ewc", "replay"],
}


class TestLogisticsConformance(AppConformance):
    app = LogisticsApp()


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory: pytest.TempPathFactory):
    from seek.config import resolve_config
    from seek.runner import execute
    from seek.runs import load_run

    app = LogisticsApp()
    config = resolve_config(app.Config, base=CI_STREAM)
    out = tmp_path_factory.mktemp("logistics") / "run"
    return load_run(execute(app, config, out=out, device="cpu", seed=0, show_progress=False).path)


@pytest.mark.slow
def test_ewc_decays_less_than_naive_fine_tuning_on_the_built_in_stream(ci_run) -> None:
    metrics = ci_run.read_json("metrics.json")
    assert metrics["decay_naive"] > 0.05, "the built-in stream must make naive fine-tuning forget"
    assert metrics["decay_ewc"] < metrics["decay_naive"]
    assert metrics["decay_online_ewc"] < metrics["decay_naive"]
    for key in ("decay_ewc", "decay_online_ewc", "decay_naive", "decay_replay"):
        assert key in metrics
    assert {"mae_last_quarter_ewc", "mae_last_quarter_naive"} <= set(metrics)


@pytest.mark.slow
def test_report_has_the_matrices_the_decay_table_and_the_plots(ci_run) -> None:
    report = ci_run.file("report.md").read_text()
    assert "Strategies side by side" in report and "The 5% claim" in report
    assert report.count("R[k][j]") >= 4 and "MAPE:" in report
    assert "figures/error_over_time.png" in ci_run.files and "figures/decay.png" in ci_run.files
    assert ci_run.metrics["state_bytes_online_ewc"] < ci_run.metrics["state_bytes_ewc"]


@pytest.mark.slow
def test_every_update_branch_keeps_its_model_and_state(ci_run) -> None:
    from seek.artifacts import artifacts

    roles = set(artifacts(ci_run))
    for name in ("naive", "ewc", "online-ewc", "replay"):
        assert {f"eta-{name}", f"state-{name}"} <= roles
    assert {"eta", "features", "holdout", "profile"} <= roles
    assert ci_run.read_json("training_schema.json")["carrier"] == "text"


def test_config_refuses_a_deployed_strategy_that_is_not_run() -> None:
    from seek.config import resolve_config
    from seek.errors import ConfigError

    with pytest.raises(ConfigError, match="deploy"):
        resolve_config(LogisticsApp.Config, overrides=['strategies=["naive"]', "deploy=ewc"])


@pytest.mark.slow
def test_a_run_keeps_the_last_quarter_as_its_drift_reference(tmp_path):
    from seek.artifacts import artifacts
    from seek.config import resolve_config
    from seek.monitoring.reference import ROLE, SAMPLE_ROLE
    from seek.runner import execute
    from seek.runs import load_run
    from seek_logistics.app import LogisticsApp

    app = LogisticsApp()
    result = execute(app, resolve_config(app.Config, base=app.tiny), out=tmp_path / "r", device="cpu")
    run = load_run(result.path)
    assert {ROLE, SAMPLE_ROLE} <= set(artifacts(run))
    reference = run.read_json("reference.json")
    assert "delivered_at" not in json.dumps(reference) and "distance_km" in json.dumps(reference)
