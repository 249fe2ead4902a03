"""ONNX export, parity against torch and onnxruntime sessions."""

from __future__ import annotations

import torch

from seek.artifacts import load_artifact
from seek.compression.onnx_export import OnnxModel, Parity, export_onnx, parity, session
from seek.runs import load_run


def test_export_has_dynamic_axes_matches_torch_and_runs_in_a_configured_session(untrained_run, tmp_path):
    import onnx
    import onnxruntime as ort

    model = load_artifact(load_run(untrained_run), "classifier")
    x = torch.rand(40, 8, 8)
    path = tmp_path / "m.onnx"
    export_onnx(model, x, None, path)
    dims = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and dims[1].dim_param  # symbolic, not fixed
    sess = session(path, threads=2)
    options = sess.get_session_options()
    assert options.intra_op_num_threads == 2
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    onnx_model = OnnxModel(sess)
    check = parity(model, onnx_model, x, None, 1e-4)
    assert check.ok and check.max_abs < 1e-4
    short = torch.rand(3, 4, 8)  # another batch size and another (whole-segment) length
    assert torch.allclose(onnx_model(short), model(short), atol=1e-4)


def test_parity_line_prints_both_errors_and_fails_above_tolerance():
    bad = Parity(max_abs=0.2, max_rel=0.01, tolerance=1e-4, samples=10)
    assert not bad.ok
    assert "max abs error 0.2" in bad.line() and "max relative error 0.01" in bad.line() and "FAILED" in bad.line()
