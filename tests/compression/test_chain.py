"""seek compress end to end: a sealed run folder per chain, every model measured, clear refusals."""

from __future__ import annotations

import json

import pytest

from seek.apps.digits import DigitsApp
from seek.artifacts import artifacts, load_artifact
from seek.compression.chain import compress
from seek.compression.options import CompressOptions
from seek.errors import ConfigError, IntegrityError, RunError
from seek.runs import load_run


def _find(name):
    assert name == "quickstart-digits"
    return DigitsApp()


def _options(**values):
    return CompressOptions(repeats=10, **values)


@pytest.mark.slow
def test_full_chain_writes_a_sealed_run_whose_predictor_serves_the_int8_onnx_model(trained_run, tmp_path):
    out = tmp_path / "compressed"
    result = compress(
        trained_run,
        "prune,distill,quantize,onnx",
        _options(finetune_epochs=1, distill_epochs=12),
        _find,
        out=out,
    )
    run = load_run(out)  # sealed: every file hashed against the manifest
    kinds = {role: art.kind for role, art in artifacts(run).items() if role.startswith("classifier")}
    others = {role for role in artifacts(load_run(trained_run)) if role != "classifier"}
    assert others <= set(artifacts(run))  # what else the run recorded travels with the model
    assert kinds == {
        "classifier@1-prune": "torch-module",
        "classifier@2-distill": "seek-transformer",
        "classifier@3-quantize": "torch-module",
        "classifier@4-onnx": "onnx",
        "classifier": "onnx",
    }
    rows = {r.name: r for r in result.rows}
    acc = {name: r.quality["test_accuracy"] for name, r in rows.items()}
    original = acc["original"]
    assert original > 0.85
    assert acc["prune"] >= original - 0.03
    assert acc["distill"] >= 0.85 * original
    assert acc["quantize"] >= acc["distill"] - 0.02
    assert acc["onnx"] == pytest.approx(acc["distill"], abs=1e-9)
    assert acc["onnx-quantize"] >= acc["distill"] - 0.02
    assert rows["prune"].parameters < rows["original"].parameters
    assert rows["distill"].parameters < 0.15 * rows["original"].parameters
    assert rows["quantize"].size_bytes < 0.5 * rows["distill"].size_bytes
    pruned = load_artifact(run, "classifier@1-prune")
    assert pruned.blocks[0].ffn.up.weight.shape[0] < 256
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["original_test_accuracy"] == original and "speedup_b32" in metrics
    meta = json.loads((out / "run.json").read_text())
    assert meta["status"] == "finished" and meta["compressed_from"] == str(trained_run)
    report = (out / "report.md").read_text()
    assert "| onnx-quantize | onnxruntime int8 dynamic |" in report and "ONNX parity ok" in report
    app = DigitsApp()
    answers = app.predictor(out).predict(app.example_records(out, 8))
    assert sum(a["label"] == d for a, d in zip(answers, range(8), strict=True)) >= 6


def test_quantized_run_loads_through_the_app_predictor(untrained_run, tmp_path):
    out = tmp_path / "int8"
    result = compress(untrained_run, "quantize", _options(), _find, out=out)
    assert [r.name for r in result.rows] == ["original", "quantize"]
    assert artifacts(load_run(out))["classifier"].meta["backend"] == "torch.ao"
    app = DigitsApp()
    answers = app.predictor(out).predict(app.example_records(out, 2))
    assert len(answers) == 2 and set(answers[0]["probabilities"]) == {str(d) for d in range(10)}


def test_tampered_weights_are_refused_before_any_folder_exists(untrained_run, tmp_path):
    weights = untrained_run / "model" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(IntegrityError, match=r"model\.safetensors: sha256 does not match"):
        compress(untrained_run, "quantize", _options(), _find, out=tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_missing_file_is_refused(untrained_run, tmp_path):
    (untrained_run / "model" / "model.json").unlink()
    with pytest.raises(IntegrityError, match="listed in manifest.json but missing"):
        compress(untrained_run, "onnx", _options(), _find, out=tmp_path / "never")


def test_int8_model_cannot_be_pruned_and_the_error_names_the_layer(untrained_run, tmp_path):
    compress(untrained_run, "quantize", _options(), _find, out=tmp_path / "int8")
    with pytest.raises(RunError, match=r"layer adapter\.embed is already INT8"):
        compress(tmp_path / "int8", "prune", _options(), _find, out=tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_student_larger_than_teacher_is_refused_before_any_folder_exists(untrained_run, tmp_path):
    with pytest.raises(ConfigError, match="not smaller than the teacher"):
        compress(
            untrained_run,
            "distill",
            _options(student_hidden_size=256, student_num_layers=2),
            _find,
            out=tmp_path / "never",
        )
    assert not (tmp_path / "never").exists()


def test_a_model_kind_compression_does_not_apply_to_is_named(untrained_run, tmp_path):
    from seek.artifacts import ArtifactWriter
    from seek.runs import RunFolder

    run = RunFolder(tmp_path / "gbm")
    for name in ("config.json", "run.json", "metrics.json"):
        run.write_bytes(name, (untrained_run / name).read_bytes())
    run.write_text("lightgbm.txt", "tree\n")
    ArtifactWriter(run).record("scorer", "lightgbm", "lightgbm.txt")
    run.seal()
    with pytest.raises(RunError, match=r"no Seek model to compress.*scorer \(lightgbm\)"):
        compress(tmp_path / "gbm", "quantize", _options(), _find)
    with pytest.raises(RunError, match="artifact 'scorer' is a lightgbm model"):
        compress(tmp_path / "gbm", "quantize", _options(role="scorer"), _find)
