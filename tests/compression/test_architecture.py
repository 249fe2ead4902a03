"""The builder that rebuilds pruned and INT8 Seek models from JSON, and Int8Linear."""

from __future__ import annotations

import pytest
import torch

from seek.compression.architecture import Int8Linear, build, count_parameters, describe
from seek.models import SeekConfig, SeekTransformer


def _model() -> SeekTransformer:
    torch.manual_seed(0)
    cfg = SeekConfig.preset("tiny", input_type="dense", input_dim=8, num_outputs=3, segment_size=4, max_len=8)
    return SeekTransformer(cfg).eval()


def test_int8_linear_stays_close_to_the_float_layer_on_both_backends():
    linear = torch.nn.Linear(32, 16)
    x = torch.randn(5, 7, 32)
    for backend in ("torch.ao", "torchao"):
        q = Int8Linear.from_linear(linear, backend)
        err = (q(x) - linear(x)).abs().max() / linear(x).abs().max()
        assert err < 0.03, backend
        assert q.weight_int8.dtype == torch.int8


@pytest.mark.parametrize("backend", ["torch.ao", "torchao"])
def test_int8_linear_reloads_bit_exact_from_its_plain_state_dict(backend):
    linear = torch.nn.Linear(32, 16)
    q = Int8Linear.from_linear(linear, backend)
    assert set(q.state_dict()) == {"weight_int8", "weight_scale", "bias"}
    fresh = Int8Linear(32, 16, backend)
    fresh.load_state_dict(q.state_dict())
    x = torch.randn(4, 32)
    assert torch.equal(fresh(x), q(x))
    assert all(t.dtype in (torch.int8, torch.float32) for t in q.state_dict().values())


def test_describe_then_build_gives_the_same_shapes():
    from seek.compression.quantize import quantize_dynamic_int8

    quantized, backend = quantize_dynamic_int8(_model())
    rebuilt = build(**describe(quantized))
    assert backend == "torch.ao"
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {
        k: v.shape for k, v in quantized.state_dict().items()
    }
    rebuilt.load_state_dict(quantized.state_dict())
    x = torch.rand(3, 8, 8)
    assert torch.equal(rebuilt(x), quantized(x))
    assert count_parameters(quantized) == count_parameters(_model())
