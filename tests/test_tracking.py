"""seek.tracking: `seek run --track mlflow` against a real local MLflow store, read back through MLflow's client."""

from __future__ import annotations

import json

import pytest

from seek.errors import ConfigError
from seek.tracking import flatten, tracking_choice

mlflow = pytest.importorskip("mlflow")


@pytest.fixture
def cli(seek_plugins, hello_plugin, tmp_path, monkeypatch):
    seek_plugins.register(hello_plugin, "hello", distribution="seek-hello")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    monkeypatch.delenv("SEEK_TRACKING", raising=False)
    return seek_plugins


def _client(uri):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _only_run(client, experiment):
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no MLflow experiment {experiment!r}"
    (run,) = client.search_runs([found.experiment_id])
    return run


@pytest.mark.slow
def test_track_mlflow_logs_config_epochs_final_metrics_report_plots_and_manifest(cli, tmp_path):
    out = tmp_path / "run"
    result = cli.invoke("run", "quickstart-digits", "--tiny", "--out", str(out), "--track", "mlflow", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "tracked in MLflow: sqlite:///" in result.output
    client = _client(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    run = _only_run(client, "quickstart-digits")
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    config = json.loads((out / "config.json").read_text())
    assert run.data.params == flatten(config)
    assert run.data.params["epochs"] == "2" and float(run.data.params["lr"]) == config["lr"]
    per_epoch = client.get_metric_history(run.info.run_id, "val_accuracy")
    assert sorted(m.step for m in per_epoch) == [0, 1, 2]  # epochs 1 and 2, and the final value at step 0
    history = json.loads((out / "history.json").read_text())
    assert {m.step: m.value for m in per_epoch if m.step}[2] == pytest.approx(history[-1]["val_accuracy"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert run.data.metrics["test_accuracy"] == pytest.approx(metrics["test_accuracy"])
    assert run.data.metrics["stage_train_s"] > 0
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"report.md", "manifest.json", "metrics.json", "config.json", "run.json", "plots"} <= artifacts
    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert plots == {"plots/confusion_matrix.png", "plots/loss_curve.png"}
    manifest = client.download_artifacts(run.info.run_id, "manifest.json", str(tmp_path / "dl"))
    with open(manifest) as handle:
        assert json.load(handle) == json.loads((out / "manifest.json").read_text())
    assert run.data.tags["seek.run_dir"] == str(out.resolve())


def test_seek_tracking_env_and_tracking_uri_are_honoured_and_a_failed_run_is_marked(cli, tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'team.db'}"
    monkeypatch.setenv("SEEK_TRACKING", "mlflow")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    ok = cli.invoke("run", "hello-stats", "--set", "values=[2, 4]", "--out", str(tmp_path / "ok"))
    assert ok.exit_code == 0, ok.output
    assert not (tmp_path / "mlruns" / "mlflow.db").exists()  # the given store, not the local default
    client = _client(uri)
    run = _only_run(client, "hello-stats")
    assert run.info.status == "FINISHED" and run.data.metrics == {"mean": 3.0, "max": 4.0}
    assert run.data.params == {"values": "[2.0, 4.0]"}

    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "broken-runs")
    failed = cli.invoke("run", "hello-stats", "--out", str(tmp_path / "ok"))  # the folder is not empty
    assert failed.exit_code == 1 and failed.output.count("\n") == 1
    broken = client.get_experiment_by_name("broken-runs")
    (run,) = client.search_runs([broken.experiment_id])
    assert run.info.status == "FAILED" and "not empty" in run.data.tags["seek.error"]


def test_tracking_is_off_by_default_and_an_unknown_tracker_is_a_config_error(monkeypatch):
    monkeypatch.delenv("SEEK_TRACKING", raising=False)
    assert tracking_choice(None) is None
    monkeypatch.setenv("SEEK_TRACKING", "none")
    assert tracking_choice(None) is None
    assert tracking_choice("mlflow") == "mlflow"
    with pytest.raises(ConfigError, match="--track 'wandb': unknown tracker"):
        tracking_choice("wandb")


def test_flatten_joins_nested_keys_and_writes_json_values():
    assert flatten({"model": {"hidden": 64, "act": "swish"}, "ids": [1, 2], "none": None, "empty": {}}) == {
        "model.hidden": "64",
        "model.act": "swish",
        "ids": "[1, 2]",
        "none": "null",
        "empty": "{}",
    }
