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


def test_plugin_import_does_not_load_heavy_libraries() -> None:
    code = (
        "import sys, seek_finance.plugin as p; apps = p.seek_apps(); "
        "print(sorted(m for m in ('polars', 'torch', 'lightgbm') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_term_dictionary_holds_hundreds_of_finance_terms() -> None:
    from seek_finance.plugin import seek_term_dictionaries

    (terms,) = seek_term_dictionaries()
    assert terms.domain == "finance" and len(terms) >= 300
    assert terms.canonical("MCC 6011") == "automated cash disbursements"
    assert terms.canonical("ATO") == "account takeover"
