"""The app end to end (small size), its predictor, and the plugin's light import."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import polars as pl
import pytest

from seek_finance.app import FraudApp


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory):
    from seek.runner import execute
    from seek.runs import load_run

    app = FraudApp()
    config = app.Config.model_validate(app.tiny)
    result = execute(
        app, config, out=tmp_path_factory.mktemp("fraud") / "run", device="cpu", seed=0, show_progress=False
    )
    return load_run(result.path)


@pytest.mark.slow
def test_small_run_beats_auc_0_8_and_writes_every_metric(finished_run) -> None:
    metrics = json.loads(finished_run.file("metrics.json").read_text())
    assert metrics["auc_roc"] > 0.8
    for prefix in ("", "lgbm_", "seq_"):
        for key in ("auc_roc", "average_precision", "card_precision_at_100", "recall_at_fpr_0_3pct", "accuracy"):
            assert f"{prefix}{key}" in metrics
    report = finished_run.file("report.md").read_text()
    assert "modalities present: transactions yes" in report and "behaviour yes" in report
    assert "Top-scored test transactions" in report
    for figure in ("roc", "pr", "scores", "feature_importance"):
        assert f"figures/{figure}.png" in finished_run.files


@pytest.mark.slow
def test_predictions_let_anyone_recompute_the_metrics(finished_run) -> None:
    from sklearn.metrics import roc_auc_score

    preds = pl.read_parquet(finished_run.file("predictions.parquet"))
    assert {"transaction_id", "customer_id", "timestamp", "label", "score", "lgbm_score", "seq_score"} <= set(
        preds.columns
    )
    kept = preds.filter(~pl.col("known_compromised"))
    metrics = finished_run.metrics
    assert roc_auc_score(kept["label"], kept["score"]) == pytest.approx(metrics["auc_roc"], abs=1e-12)


@pytest.mark.slow
def test_predictor_scores_with_reasons_and_refuses_bad_input(finished_run) -> None:
    from seek.errors import DataError

    predictor = FraudApp().predictor(finished_run.path)
    history = pl.read_parquet(finished_run.file("model/history.parquet"))
    last = history.row(-1, named=True)
    tx = {k: v for k, v in last.items() if k not in ("step", "is_fraud", "label_available_at")}
    tx |= {"transaction_id": 10**12, "timestamp": last["timestamp"] + timedelta(minutes=1), "amount": 4000.0}
    answer = predictor.predict([tx])[0]
    assert 0.0 <= answer["score"] <= 1.0 and isinstance(answer["is_fraud"], bool)
    assert answer["reasons"] and {"feature", "value", "contribution"} <= set(answer["reasons"][0])
    with pytest.raises(DataError, match="customer_id"):
        predictor.predict([{k: v for k, v in tx.items() if k != "customer_id"}])


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


@pytest.mark.slow
def test_a_handbook_format_csv_with_bad_rows_runs_end_to_end_from_the_cli(tmp_path, seek_plugins) -> None:
    from seek.runs import load_run
    from seek_finance.simulate import SimulatorConfig, simulate

    frame = simulate(SimulatorConfig(n_customers=800, n_terminals=1600, n_days=60, devices=False, sessions=False))
    handbook = frame.select(
        pl.col("transaction_id").alias("TRANSACTION_ID"),
        pl.col("timestamp").dt.strftime("%Y-%m-%d %H:%M:%S").alias("TX_DATETIME"),
        pl.col("customer_id").alias("CUSTOMER_ID"),
        pl.col("terminal_id").alias("TERMINAL_ID"),
        pl.col("amount").cast(pl.String).alias("TX_AMOUNT"),
        pl.col("is_fraud").alias("TX_FRAUD"),
    )
    bad = pl.DataFrame(
        {
            "TRANSACTION_ID": [10**9, 10**9 + 1],
            "TX_DATETIME": ["2018-05-01 10:00:00", "yesterday"],
            "CUSTOMER_ID": [1, 2],
            "TERMINAL_ID": [1, 2],
            "TX_AMOUNT": ["-5", "7"],
            "TX_FRAUD": [0, 0],
        },
        schema=handbook.schema,
    )
    path = tmp_path / "handbook.csv"
    pl.concat([handbook, bad]).write_csv(path)
    import seek_finance.plugin

    seek_plugins.register(seek_finance.plugin, "finance", distribution="seek-finance")
    out = tmp_path / "run"
    maps = [
        "transaction_id=TRANSACTION_ID",
        "timestamp=TX_DATETIME",
        "customer_id=CUSTOMER_ID",
        "terminal_id=TERMINAL_ID",
        "amount=TX_AMOUNT",
        "is_fraud=TX_FRAUD",
    ]
    args = [
        "run",
        "finance-fraud",
        "--tiny",
        "--data",
        str(path),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--no-progress",
    ]
    result = seek_plugins.invoke(*args, *(item for pair in maps for item in ("--map", pair)))
    assert result.exit_code == 0, result.output
    run = load_run(out)
    assert run.metrics["auc_roc"] > 0.75
    rejected = pl.read_parquet(run.file("rejected.parquet"))
    assert rejected.height == 2
    report = run.file("report.md").read_text()
    assert "rejected: 2" in report and "device no" in report and "behaviour no" in report
