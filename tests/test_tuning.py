"""seek tune: Optuna search over an app's tunable settings, and reproducing the best trial."""

from __future__ import annotations

import json

import pytest

from seek import ConfigError
from seek.tuning import DEFAULT_SPACE, Param, make_storage, parse_space


def test_default_space_is_the_guides_ranges():
    assert (DEFAULT_SPACE["lr"].low, DEFAULT_SPACE["lr"].high, DEFAULT_SPACE["lr"].log) == (1e-5, 5e-5, True)
    assert (DEFAULT_SPACE["weight_decay"].low, DEFAULT_SPACE["weight_decay"].high) == (0.01, 0.1)
    assert (DEFAULT_SPACE["dropout"].low, DEFAULT_SPACE["dropout"].high) == (0.1, 0.3)
    assert DEFAULT_SPACE["batch_size"].choices == (16, 32, 64)


def test_app_space_overrides_the_guide_and_user_space_overrides_the_app():
    from seek.apps.digits import DigitsApp

    assert parse_space([], DigitsApp())["lr"] == Param(3e-4, 5e-3, log=True)
    assert parse_space(["lr=1e-3:2e-3"], DigitsApp())["lr"] == Param(1e-3, 2e-3, log=True)
    assert parse_space([], DigitsApp())["dropout"] == DEFAULT_SPACE["dropout"]


def test_space_overrides_ranges_and_choices():
    space = parse_space(["lr=1e-4:1e-2", "batch_size=8,16"])
    assert space["lr"] == Param(1e-4, 1e-2, log=True)
    assert space["batch_size"].choices == (8, 16)
    with pytest.raises(ConfigError, match="--space 'momentum=1:2'"):
        parse_space(["momentum=1:2"])
    with pytest.raises(ConfigError, match="need 0 <= low < high"):
        parse_space(["lr=1:0.5"])


def test_journal_storage_is_shared_by_name(tmp_path):
    import optuna

    storage = make_storage(f"journal:{tmp_path / 'study.log'}")
    optuna.create_study(study_name="s", storage=storage).optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    again = optuna.load_study(study_name="s", storage=make_storage(str(tmp_path / "study.log")))
    assert len(again.trials) == 2


@pytest.mark.slow
def test_tune_writes_best_toml_that_reproduces_the_best_trial(seek_plugins, tmp_path):
    out = tmp_path / "tune"
    result = seek_plugins.invoke(
        "tune",
        "quickstart-digits",
        "--trials",
        "2",
        "--set",
        "epochs=1",
        "--space",
        "lr=1e-3:3e-3",
        "--out",
        str(out),
        "--device",
        "cpu",
    )
    assert result.exit_code == 0, result.output
    best = json.loads((out / "best_params.json").read_text())
    assert set(best["params"]) == {"lr", "weight_decay", "dropout", "batch_size"}
    assert (out / "optimization_history.png").read_bytes()[:4] == b"\x89PNG"
    rerun = seek_plugins.invoke(
        "run",
        "quickstart-digits",
        "--config",
        str(out / "best.toml"),
        "--out",
        str(tmp_path / "again"),
        "--device",
        "cpu",
        "--no-progress",
    )
    assert rerun.exit_code == 0, rerun.output
    metrics = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert metrics["val_accuracy"] == pytest.approx(best["value"], abs=1e-9)


def test_tuning_an_app_without_a_metric_is_a_clear_error(seek_plugins, hello_plugin, tmp_path):
    seek_plugins.register(hello_plugin, "hello")
    result = seek_plugins.invoke("tune", "hello-stats", "--trials", "1", "--out", str(tmp_path / "t"))
    assert result.exit_code == 2
    assert result.output == "error: app 'hello-stats' declares no TuneSpec (App.tune); it cannot be tuned\n"
