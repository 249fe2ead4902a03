"""seek tune: Optuna search over an app's tunable settings, and reproducing the best trial."""

from __future__ import annotations

import json

import pytest

from seek import ConfigError
from seek.app import App, AppConfig, Report, TuneSpec
from seek.tuning import DEFAULT_SPACE, Param, TuneSettings, make_storage, parse_space, tune


class _CurveConfig(AppConfig):
    x: float = 0.0
    leaves: int = 2
    shape: str = "flat"


class _CurveApp(App[_CurveConfig]):
    """No trainer: the score is known only from the run's final report."""

    name = "curve"
    summary = "a score curve over app-named settings"
    Config = _CurveConfig
    tune = TuneSpec(
        params={"x": "x", "num_leaves": "leaves", "shape": "shape"},
        metric="score",
        space={"x": "0:1", "num_leaves": "2:64:int", "shape": "flat,peaked"},
        prune=False,
    )

    def run(self, config, ctx):
        bonus = 0.5 if config.shape == "peaked" else 0.0
        return Report(metrics={"score": bonus - (config.x - 0.3) ** 2 - abs(config.leaves - 31) / 100})

    def predictor(self, run_dir):
        raise NotImplementedError


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


def test_app_named_parameters_are_the_whole_space_with_their_own_ranges():
    space = parse_space([], _CurveApp())
    assert space == {
        "x": Param(0.0, 1.0),
        "num_leaves": Param(2.0, 64.0, integer=True),
        "shape": Param(choices=("flat", "peaked")),
    }
    assert parse_space(["num_leaves=7,15,31"], _CurveApp())["num_leaves"].choices == (7, 15, 31)
    assert parse_space(["x=0.01:0.5:log"], _CurveApp())["x"] == Param(0.01, 0.5, log=True)
    with pytest.raises(ConfigError, match="--space 'lr=1e-4:1e-2': .* with NAME in x, num_leaves, shape"):
        parse_space(["lr=1e-4:1e-2"], _CurveApp())


def test_bad_range_specs_are_one_clear_error():
    with pytest.raises(ConfigError, match="an integer range needs whole numbers"):
        parse_space(["num_leaves=2.5:64:int"], _CurveApp())
    with pytest.raises(ConfigError, match="a log-scaled range needs low > 0"):
        parse_space(["x=0:1:log"], _CurveApp())
    with pytest.raises(ConfigError, match="expected LOW:HIGH"):
        parse_space(["x=0:1:cubic"], _CurveApp())


def test_an_app_parameter_without_a_range_is_named(monkeypatch):
    app = _CurveApp()
    monkeypatch.setattr(app, "tune", TuneSpec(params={"x": "x", "num_leaves": "leaves"}, metric="score"))
    with pytest.raises(ConfigError, match="declares tunable x, num_leaves without a range"):
        parse_space([], app)
    assert set(parse_space(["x=0:1", "num_leaves=2,4"], app)) == {"x", "num_leaves"}


def test_report_only_metric_is_tuned_without_pruning(tmp_path):
    from seek.runs import RunFolder

    report = tune(_CurveApp(), {}, TuneSettings(trials=8), RunFolder(tmp_path / "search"))
    rows = json.loads((tmp_path / "search" / "trials.json").read_text())
    assert [r["state"] for r in rows] == ["COMPLETE"] * 8
    assert all(isinstance(r["params"]["num_leaves"], int) and 2 <= r["params"]["num_leaves"] <= 64 for r in rows)
    best = json.loads((tmp_path / "search" / "best_params.json").read_text())
    assert best["value"] == max(r["value"] for r in rows)
    assert report.metrics["trials_pruned"] == 0
    assert "report-only" in report.summary
    reran = _CurveApp().run(
        _CurveConfig(x=best["params"]["x"], leaves=best["params"]["num_leaves"], shape=best["params"]["shape"]), None
    )
    assert reran.metrics["score"] == pytest.approx(best["value"])


def test_a_metric_the_run_does_not_report_is_a_clear_error(tmp_path, monkeypatch):
    from seek.runs import RunFolder

    app = _CurveApp()
    monkeypatch.setattr(app, "tune", TuneSpec(params={"x": "x"}, metric="auc", space={"x": "0:1"}, prune=False))
    with pytest.raises(ConfigError, match="the run reports no 'auc' \\(has score\\)"):
        tune(app, {}, TuneSettings(trials=1), RunFolder(tmp_path / "search"))


def test_two_phase_needs_the_guides_four_parameters(tmp_path):
    from seek.runs import RunFolder

    with pytest.raises(ConfigError, match="--two-phase searches lr, weight_decay then dropout, batch_size"):
        tune(_CurveApp(), {}, TuneSettings(trials=2, two_phase=True), RunFolder(tmp_path / "search"))


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
