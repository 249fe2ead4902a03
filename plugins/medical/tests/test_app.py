"""medical-nodule passes the core's app conformance suite unchanged; --data runs detect in a user's study."""

from __future__ import annotations

import json

import pytest
from medical_study import small_study

from seek.runner import execute
from seek.runs import load_run
from seek.testing import AppConformance
from seek_medical.app import NoduleApp
from seek_medical.simulate import write_study


class TestNoduleConformance(AppConformance):
    app = NoduleApp()


@pytest.mark.slow
def test_tiny_run_reports_froc_overlays_and_the_luna16_metric_keys(seek_run_app):
    run = seek_run_app(NoduleApp())
    keys = {
        "froc_cpm",
        "sensitivity_at_0_8_fp",
        "sensitivity_at_1_fp",
        "mean_localisation_error_mm",
        "dice_crf",
        "dice_no_crf",
        "sensitivity_lt3mm_at_1_fp",
    }
    assert keys <= set(run.metrics)
    assert {"froc.png", "found.png", "missed.png", "report.md"} <= set(run.files)
    report = (run.path / "report.md").read_text()
    assert "FROC (LUNA16 protocol" in report and "| < 3 mm |" in report


@pytest.mark.slow
def test_run_with_data_detects_in_the_study_with_the_shipped_weights(tmp_path):
    study = small_study(seed=11)
    folder = tmp_path / "study"
    write_study(study, folder)
    app = NoduleApp()
    data = app.data.open(folder, app=app.name)
    result = execute(app, app.Config(), out=tmp_path / "run", device="cpu", data=data, show_progress=False)
    run = load_run(result.path)
    findings = json.loads((run.path / "findings.json").read_text())
    assert findings["series_instance_uid"] == study.uids["series"]
    assert run.metrics["findings"] == len(findings["findings"])
    assert "froc_cpm" in run.metrics  # ground_truth.json beside the files: the study is scored too
    assert run.read_json("run.json")["input"]["kind"] == "folder"
