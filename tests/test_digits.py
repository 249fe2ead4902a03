"""quickstart-digits end to end: the reference app trains, evaluates, serves."""

from __future__ import annotations

import pytest

from seek.apps.digits import DigitsApp


@pytest.mark.slow
def test_quickstart_digits_reaches_95_percent_test_accuracy(seek_run_app):
    run = seek_run_app(DigitsApp(), epochs=DigitsApp.Config().epochs)
    metrics = run.metrics
    assert metrics["test_accuracy"] >= 0.95
    assert 0.9 <= metrics["test_macro_f1"] <= 1.0
    assert (run.path / "confusion_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "confusion_matrix.png" in run.files


def test_digits_predictor_answers_from_a_verified_run(seek_run_app):
    from sklearn.datasets import load_digits

    run = seek_run_app(DigitsApp())
    predictor = DigitsApp().predictor(run.path)
    digits = load_digits()
    answers = predictor.predict([{"pixels": digits.data[i].tolist()} for i in range(20)])
    assert len(answers) == 20
    assert all(abs(sum(a["probabilities"].values()) - 1) < 1e-5 for a in answers)
    assert sum(a["label"] == t for a, t in zip(answers, digits.target[:20])) >= 14


def test_digits_predictor_rejects_a_malformed_record(seek_run_app):
    from seek import DataError

    predictor = DigitsApp().predictor(seek_run_app(DigitsApp()).path)
    with pytest.raises(DataError, match="record 0: field 'pixels' must be a list of 64 numbers"):
        predictor.predict([{"pixels": [1, 2]}])
