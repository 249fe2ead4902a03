"""The app end to end: the conformance suite, config validation, the CLI on a Handbook CSV, seek data check."""

from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest

from seek.testing import AppConformance
from seek_finance.app import FraudApp

HANDBOOK_MAPS = [
    "transaction_id=TRANSACTION_ID",
    "timestamp=TX_DATETIME",
    "customer_id=CUSTOMER_ID",
    "terminal_id=TERMINAL_ID",
    "amount=TX_AMOUNT",
    "is_fraud=TX_FRAUD",
]


class TestFinanceConformance(AppConformance):
    app = FraudApp()


@pytest.mark.slow
def test_small_run_writes_every_metric_figure_and_the_analyst_tables(finished_run) -> None:
    metrics = finished_run.metrics
    assert metrics["auc_roc"] > 0.75
    for prefix in ("", "lgbm_", "seq_"):
        for key in ("auc_roc", "average_precision", "card_precision_at_100", "recall_at_fpr_0_3pct", "accuracy"):
            assert f"{prefix}{key}" in metrics
    assert metrics["alerts_per_day"] > 0 and 0 <= metrics["alert_precision"] <= 1
    for stage in ("simulate", "features", "lightgbm", "sequence", "evaluate", "report"):
        assert f"time_{stage}_s" in metrics
    report = finished_run.file("report.md").read_text()
    assert "modalities present: transactions yes" in report and "behaviour yes" in report
    assert "Alert queue per day" in report and "Score distribution (test period, counts)" in report
    assert "Top-scored test transactions" in report
    for figure in ("roc", "pr", "scores", "feature_importance", "alerts"):
        assert f"figures/{figure}.png" in finished_run.files


@pytest.mark.slow
def test_predictions_let_anyone_recompute_the_metrics(finished_run) -> None:
    from sklearn.metrics import roc_auc_score

    preds = pl.read_parquet(finished_run.file("predictions.parquet"))
    kept = preds.filter(~pl.col("known_compromised") & pl.col("label").is_not_null())
    assert roc_auc_score(kept["label"], kept["score"]) == pytest.approx(finished_run.metrics["auc_roc"], abs=1e-12)


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ('features.customer_windows=["15x"]', "features.customer_windows"),
        ("sequence.preset=huge", "sequence.preset"),
        ("sequence.num_heads=3", "sequence.num_heads"),
        ("sequence.k=100", "sequence.k"),
        ("lightgbm.num_leaves=1", "lightgbm.num_leaves"),
        ("lightgbm.bogus=1", "lightgbm.bogus"),
        ("timezone=Mars/Olympus", "timezone"),
    ],
)
def test_invalid_values_fail_before_the_run_folder_naming_the_key(setting, key, tmp_path, seek_plugins) -> None:
    import seek_finance.plugin

    seek_plugins.register(seek_finance.plugin, "finance", distribution="seek-finance")
    out = tmp_path / "run"
    result = seek_plugins.invoke("run", "finance-fraud", "--tiny", "--set", setting, "--out", str(out))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0], result.stderr
    assert not out.exists()


def test_a_nested_setting_keeps_every_other_default() -> None:
    from seek.config import resolve_config
    from seek_finance.app import FraudConfig, LightGBMConfig, SequenceConfig

    config = resolve_config(FraudConfig, overrides=["lightgbm.num_leaves=7", "sequence.trainer.lr=1e-3"])
    assert config.lightgbm == LightGBMConfig(num_leaves=7)
    assert config.sequence.trainer.lr == 1e-3
    assert config.sequence.trainer.epochs == SequenceConfig().trainer.epochs


@pytest.mark.hook("seek_apps")
def test_plugin_import_does_not_load_heavy_libraries() -> None:
    code = (
        "import sys, seek_finance.plugin as p; apps = p.seek_apps(); "
        "print(sorted(m for m in ('polars', 'torch', 'lightgbm') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.hook("seek_term_dictionaries")
def test_term_dictionary_holds_hundreds_of_finance_terms() -> None:
    from seek_finance.plugin import seek_term_dictionaries

    (terms,) = seek_term_dictionaries()
    assert terms.domain == "finance" and len(terms) >= 300
    assert terms.canonical("MCC 6011") == "automated cash disbursements"
    assert terms.canonical("ATO") == "account takeover"


def _handbook_csv(path, extra: pl.DataFrame | None = None) -> None:
    from seek_finance.app import SimulatorConfig
    from seek_finance.simulate import simulate

    frame = simulate(SimulatorConfig(n_customers=400, n_terminals=800, n_days=40, devices=False, sessions=False))
    handbook = frame.select(
        pl.col("transaction_id").cast(pl.String).alias("TRANSACTION_ID"),
        pl.col("timestamp").dt.strftime("%Y-%m-%d %H:%M:%S").alias("TX_DATETIME"),
        pl.col("customer_id").cast(pl.String).alias("CUSTOMER_ID"),
        pl.col("terminal_id").cast(pl.String).alias("TERMINAL_ID"),
        pl.col("amount").cast(pl.String).alias("TX_AMOUNT"),
        pl.col("is_fraud").cast(pl.String).alias("TX_FRAUD"),
    )
    pl.concat([handbook, extra]).write_csv(path) if extra is not None else handbook.write_csv(path)


_BAD = pl.DataFrame(
    {
        "TRANSACTION_ID": ["900000001", "900000002", "0"],
        "TX_DATETIME": ["2018-05-01 10:00:00", "yesterday", "2018-05-01 10:00:00"],
        "CUSTOMER_ID": ["1", "2", "3"],
        "TERMINAL_ID": ["1", "2", "3"],
        "TX_AMOUNT": ["-5", "7", "8"],
        "TX_FRAUD": ["0", "0", "0"],
    }
)


@pytest.mark.slow
def test_a_handbook_format_csv_with_bad_rows_runs_end_to_end_from_the_cli(tmp_path, seek_plugins) -> None:
    import json

    from seek.runs import load_run

    path = tmp_path / "handbook.csv"
    _handbook_csv(path, _BAD)
    import seek_finance.plugin

    seek_plugins.register(seek_finance.plugin, "finance", distribution="seek-finance")
    out = tmp_path / "run"
    args = ["run", "finance-fraud", "--tiny", "--data", str(path), "--out", str(out), "--device", "cpu"]
    result = seek_plugins.invoke(*args, "--no-progress", *(x for m in HANDBOOK_MAPS for x in ("--map", m)))
    assert result.exit_code == 0, result.output
    run = load_run(out)
    assert run.metrics["auc_roc"] > 0.7 and run.metrics["rows_rejected"] == 3
    assert pl.read_parquet(run.file("rejected.parquet")).height == 3
    report = run.file("report.md").read_text()
    assert "rejected: 3" in report and "device no" in report and "behaviour no" in report
    config = json.loads(run.file("config.json").read_text())
    assert "simulator" not in config and "n_customers" not in report  # a file run lists no simulator settings


@pytest.mark.slow
def test_a_file_with_no_valid_rows_is_one_line_and_exit_1(tmp_path, seek_plugins) -> None:
    import seek_finance.plugin

    seek_plugins.register(seek_finance.plugin, "finance", distribution="seek-finance")
    path = tmp_path / "header.csv"
    path.write_text("TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD\n")
    args = ["run", "finance-fraud", "--tiny", "--data", str(path), "--out", str(tmp_path / "run"), "--no-progress"]
    result = seek_plugins.invoke(*args, *(x for m in HANDBOOK_MAPS for x in ("--map", m)))
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]  # other lines: stage logs
    assert len(errors) == 1 and "header.csv" in errors[0] and "Traceback" not in result.output
    assert "no data rows" in errors[0] or "no valid rows" in errors[0]


def test_seek_data_check_reports_a_negative_amount_a_bad_time_and_a_repeated_id(tmp_path, seek_plugins) -> None:
    import json

    import seek_finance.plugin

    seek_plugins.register(seek_finance.plugin, "finance", distribution="seek-finance")
    path = tmp_path / "tx.csv"
    path.write_text(
        "transaction_id,timestamp,customer_id,terminal_id,amount,is_fraud\n"
        "1,2018-04-01 10:00:00,7,9,12.5,0\n"
        "2,2018-04-01 10:05:00,7,9,-3,0\n"
        "3,not a time,7,9,4,0\n"
        "1,2018-04-01 10:09:00,8,9,5,0\n"
        "4,2018-04-01 10:10:00,8,9,6,1\n"
    )
    out = tmp_path / "quality"
    result = seek_plugins.invoke("data", "check", str(path), "--schema", "finance-fraud", "--out", str(out))
    report = json.loads((out / "quality.json").read_text())
    dims = report["dimensions"]
    assert result.exit_code == 1 and dims["validity"]["score"] == pytest.approx(2 / 5), result.output
    reasons = " ".join(dims["validity"]["details"]["reasons"])
    assert "amount: -3 below the minimum" in reasons and "timestamp: not a time is not a timestamp" in reasons
    assert "transaction_id: 1 repeats row 1" in reasons
    assert dims["uniqueness"]["details"]["duplicates"] == 1


def test_tune_space_sets_lightgbm_keys_that_the_config_accepts() -> None:
    from seek.config import resolve_config
    from seek.tuning import parse_space

    app = FraudApp()
    assert app.tune is not None and not app.tune.prune
    space = parse_space([], app)
    assert set(space) == set(app.tune.params)
    overrides = []
    for name, param in space.items():
        value = param.choices[-1] if param.choices else (int(param.high) if param.integer else param.high)
        overrides.append(f"{app.tune.params[name]}={value}")
    config = resolve_config(app.Config, overrides=overrides)
    assert config.lightgbm.num_leaves == 63 and config.lightgbm.min_child_samples == 200


@pytest.mark.slow
def test_seek_tune_searches_lightgbm_on_its_prequential_ap_and_best_toml_reproduces_it(tmp_path, seek_plugins) -> None:
    import json

    import seek_finance.plugin

    seek_plugins.register(seek_finance.plugin, "finance", distribution="seek-finance")
    out = tmp_path / "tune"
    args = ["--tiny", "--set", "sequence.enabled=false", "--set", "simulator.n_days=50",
            "--set", "protocol.prequential_folds=2", "--device", "cpu"]  # fmt: skip
    result = seek_plugins.invoke("tune", "finance-fraud", "--trials", "2", "--out", str(out), "--no-progress", *args)
    assert result.exit_code == 0, result.output
    best = json.loads((out / "best_params.json").read_text())
    assert best["metric"] == "lgbm_prequential_average_precision" and set(best["params"]) == set(FraudApp.tune.params)
    again = tmp_path / "again"
    rerun = seek_plugins.invoke(
        "run",
        "finance-fraud",
        "--config",
        str(out / "best.toml"),
        "--out",
        str(again),
        "--no-progress",
        "--device",
        "cpu",
    )
    assert rerun.exit_code == 0, rerun.output
    metrics = json.loads((again / "metrics.json").read_text())
    assert metrics["lgbm_prequential_average_precision"] == pytest.approx(best["value"], abs=1e-12)
    assert metrics["lgbm_prequential_average_precision"] != metrics["lgbm_val_average_precision"]
