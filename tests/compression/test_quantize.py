"""Dynamic INT8 in torch and in onnxruntime, on the quickstart-digits model."""

from __future__ import annotations

import pytest
import torch

from seek.artifacts import load_artifact
from seek.compression.measure import outputs
from seek.compression.quantize import choose_backend, quantize_dynamic_int8
from seek.errors import RunError
from seek.runs import load_run


def test_auto_backend_is_torch_ao_on_cpu():
    assert choose_backend("auto") == "torch.ao"
    assert choose_backend("torchao") == "torchao"


def test_every_linear_becomes_int8_and_outputs_stay_close(untrained_run):
    from seek.compression.architecture import Int8Linear

    model = load_artifact(load_run(untrained_run), "classifier")
    quantized, _ = quantize_dynamic_int8(model)
    assert not any(isinstance(m, torch.nn.Linear) for m in quantized.modules())
    assert sum(isinstance(m, Int8Linear) for m in quantized.modules()) > 10
    x = torch.rand(64, 8, 8)
    ref, got = outputs(model, x, None), outputs(quantized, x, None)
    assert (ref - got).abs().max() / ref.abs().max() < 0.05


def test_a_model_without_linear_layers_is_refused_naming_its_first_layer():
    with pytest.raises(RunError, match=r"no Linear layer.*0 \(Conv3d\)"):
        quantize_dynamic_int8(torch.nn.Sequential(torch.nn.Conv3d(1, 2, 3)))


@pytest.mark.slow
def test_int8_digits_keep_accuracy_within_one_point(trained_run, digits_data):
    model = load_artifact(load_run(trained_run), "classifier")
    quantized, _ = quantize_dynamic_int8(model)
    x, _ = digits_data.inputs()
    before = digits_data.metrics(outputs(model, x, None), digits_data.test["y"])["test_accuracy"]
    after = digits_data.metrics(outputs(quantized, x, None), digits_data.test["y"])["test_accuracy"]
    assert after >= before - 0.01
