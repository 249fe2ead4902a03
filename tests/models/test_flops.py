"""FLOPs estimate and parameter count."""

from __future__ import annotations

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from seek.models import SeekConfig, SeekTransformer


@pytest.mark.parametrize("attention", ["hierarchical", "full"])
@pytest.mark.parametrize(("input_type", "head"), [("dense", "classification"), ("tokens", "token")])
@pytest.mark.parametrize("length", [100, 128])
def test_flops_estimate_equals_counted_matmul_flops(attention: str, input_type: str, head: str, length: int) -> None:
    cfg = SeekConfig.preset(
        "tiny", input_type=input_type, input_dim=12, vocab_size=40, head=head, num_outputs=3, attention=attention
    )
    model = SeekTransformer(cfg).eval()
    x = torch.randn(2, length, 12) if input_type == "dense" else torch.randint(0, 40, (2, length))
    # The math backend decomposes attention into matmuls, which the counter sees.
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model(x)
    assert model.flops(length, batch_size=2) == counter.get_total_flops()


def test_hierarchical_flops_grow_linearly_where_full_attention_grows_quadratically() -> None:
    cfg = SeekConfig.preset("small", vocab_size=1000)
    ours, full = SeekTransformer(cfg), SeekTransformer(cfg.replace(attention="full"))
    assert ours.flops(16384) / ours.flops(8192) == pytest.approx(2.0, rel=0.02)
    assert full.flops(16384) / full.flops(8192) > 3.0


def test_num_parameters_counts_every_weight_and_only_trainable_on_request() -> None:
    model = SeekTransformer(SeekConfig.preset("tiny", vocab_size=40))
    total = sum(p.numel() for p in model.parameters())
    assert model.num_parameters() == total
    model.adapter.embed.weight.requires_grad_(False)
    assert model.num_parameters(trainable_only=True) == total - 40 * 32


@pytest.mark.parametrize("length", [20, 100])  # below and above the switch at 32
def test_training_flops_count_matmul_backward_as_two_forwards(length: int) -> None:
    cfg = SeekConfig.preset(
        "tiny", vocab_size=40, head="classification", num_outputs=3, full_attention_below=32, dropout=0.0
    )
    model = SeekTransformer(cfg).train()
    x = torch.randint(0, 40, (2, length))
    # math attention is plain matmuls (backward 2x); fused GPU kernels are counted 3.5x in all
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model(x).sum().backward()
    assert counter.get_total_flops() == 3 * model.flops(length, batch_size=2)
    d, s = cfg.hidden_size, cfg.segment_size
    padded = -(-length // s) * s
    core = 4 * length * length * d if length < 32 else 4 * padded * s * d + 4 * (padded // s) ** 2 * d
    batch = 2
    # on a GPU the fusion (fusion._ScaleMix) mixes against all P padded coarse rows of a sequence at once
    rows = padded // s + 1 + (-(padded // s + 1)) % 8
    mix = 0 if length < 32 else batch * cfg.num_layers * (6 * padded * rows * d - 12 * padded * d)
    expected = 3 * model.flops(length, batch) + batch * cfg.num_layers * core // 2 + mix
    assert model.training_flops(length, batch) == expected


def test_the_gpu_fusion_does_the_matmul_flops_the_formula_counts() -> None:
    from seek.models.fusion import _ScaleMix

    b, n, s, d = 2, 3, 4, 8
    leaves = [torch.randn(shape, requires_grad=True) for shape in ((b, n * s, 3), (b, n * s, d), (b, n, d), (b, d))]
    with FlopCounterMode(display=False) as counter:
        _ScaleMix.apply(*leaves).sum().backward()
    rows = 8  # n + 1 = 4 coarse rows, padded to 8
    assert counter.get_total_flops() == 6 * b * n * s * rows * d
