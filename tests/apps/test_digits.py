"""quickstart-digits end to end: the reference app trains, evaluates, serves."""

from __future__ import annotations

import pytest

from seek import DataError
from seek.apps.digits import DigitsApp, load_splits


@pytest.mark.slow
def test_quickstart_digits_reaches_95_percent_and_its_predictor_agrees(seek_run_app):
    run = seek_run_app(DigitsApp(), epochs=DigitsApp.Config().epochs)
    metrics = run.metrics
    assert metrics["test_accuracy"] >= 0.95
    assert 0.9 <= metrics["test_macro_f1"] <= 1.0
    assert (run.path / "confusion_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"confusion_matrix.png", "loss_curve.png", "model/model.safetensors"} <= set(run.files)
    # The predictor computes what evaluation computed: same test split, same accuracy.
    config = DigitsApp.Config.model_validate(run.config)
    test = load_splits(config, seed=0)["test"]
    records = [{"pixels": (x.numpy().reshape(-1) * 16.0).tolist()} for x in test["x"]]
    answers = DigitsApp().predictor(run.path).predict(records)
    accuracy = sum(a["label"] == int(t) for a, t in zip(answers, test["y"], strict=True)) / len(answers)
    assert accuracy == pytest.approx(metrics["test_accuracy"], abs=1e-12)


def test_digits_predictor_answers_probabilities_and_rejects_malformed_records(seek_run_app):
    predictor = DigitsApp().predictor(seek_run_app(DigitsApp(), epochs=1).path)
    answers = predictor.predict([{"pixels": [0] * 64}, {"pixels": list(range(64))}])
    assert [sorted(a) for a in answers] == [["label", "probabilities"]] * 2
    assert all(abs(sum(a["probabilities"].values()) - 1) < 1e-5 for a in answers)
    assert all(str(a["label"]) == max(a["probabilities"], key=a["probabilities"].get) for a in answers)
    with pytest.raises(DataError, match="record 0: field 'pixels' must be a list of 64 numbers"):
        predictor.predict([{"pixels": [1, 2]}])
