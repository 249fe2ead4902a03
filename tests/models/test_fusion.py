"""Hierarchical attention and multi-scale fusion: information flow across segments and the learned gate."""

from __future__ import annotations

import pytest
import torch

from seek.models import SeekConfig, SeekTransformer
from seek.models.attention import HierarchicalAttention, stacked_linear
from seek.models.blocks import SeekBlock
from seek.models.fusion import MultiScaleFusion


def test_fusion_starts_as_the_mean_of_the_three_scales() -> None:
    fusion = MultiScaleFusion(4)
    x, token = torch.randn(2, 6, 4), torch.randn(2, 6, 4)
    segment, sequence = torch.randn(2, 3, 4), torch.randn(2, 4)
    expected = (token + segment.repeat_interleave(2, dim=1) + sequence[:, None, :]) / 3
    torch.testing.assert_close(fusion(x, (token, segment, sequence)), expected)


def test_fusion_gate_can_select_one_scale() -> None:
    fusion = MultiScaleFusion(4)
    with torch.no_grad():
        fusion.gate.bias.copy_(torch.tensor([0.0, 50.0, 0.0]))
    token, segment, sequence = torch.randn(1, 4, 4), torch.randn(1, 2, 4), torch.randn(1, 4)
    out = fusion(torch.randn(1, 4, 4), (token, segment, sequence))
    torch.testing.assert_close(out, segment.repeat_interleave(2, dim=1))


def test_branches_have_token_segment_and_sequence_granularity() -> None:
    attn = HierarchicalAttention(hidden_size=8, num_heads=2, segment_size=4, dropout=0.0)
    token, segment, sequence = attn(torch.randn(3, 12, 8), None)
    assert (token.shape, segment.shape, sequence.shape) == ((3, 12, 8), (3, 3, 8), (3, 8))


def test_a_token_sees_tokens_in_other_segments() -> None:
    cfg = SeekConfig.preset("tiny", vocab_size=20, head="token", num_outputs=2, segment_size=4, num_layers=1)
    model = SeekTransformer(cfg).eval()
    x = torch.randint(0, 20, (1, 16))
    changed = x.clone()
    changed[0, 13] = (x[0, 13] + 1) % 20  # a token in the last segment
    with torch.no_grad():
        a, b = model(x), model(changed)
    assert not torch.allclose(a[0, 0], b[0, 0])  # position 0 is in the first segment


def broadcast_fusion(fusion: MultiScaleFusion, x: torch.Tensor, branches: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The fusion as it was before issue 17: five broadcast multiply/add passes over (B, L, D)."""
    token, segment, sequence = branches
    b, length, d = token.shape
    n = segment.shape[1]
    w = fusion.gate_weights(x)
    seg = (w[..., 1:2].view(b, n, length // n, 1) * segment.unsqueeze(2)).view(b, length, d)
    return w[..., 0:1] * token + seg + w[..., 2:3] * sequence.unsqueeze(1)


def test_batched_fusion_equals_the_broadcast_formula_it_replaced_in_fp32() -> None:
    torch.manual_seed(0)
    fusion = MultiScaleFusion(16)
    torch.nn.init.normal_(fusion.gate.weight, std=0.5)  # a gate far from equal weights
    x = torch.randn(3, 24, 16)
    branches = (torch.randn(3, 24, 16), torch.randn(3, 4, 16), torch.randn(3, 16))
    grads = []
    for fuse in (fusion, lambda x, b: broadcast_fusion(fusion, x, b)):
        leaves = [t.clone().requires_grad_(True) for t in (x, *branches)]
        out = fuse(leaves[0], tuple(leaves[1:]))
        out.pow(2).sum().backward()
        grads.append([out.detach()] + [t.grad for t in leaves] + [fusion.gate.weight.grad.clone()])
        fusion.zero_grad()
    for new, old in zip(*grads, strict=True):  # the gate's gradient sums to ~40: 1e-6 relative is 2 ulp there
        torch.testing.assert_close(new, old, rtol=1e-6, atol=1e-5)


def old_block(block: SeekBlock, h: torch.Tensor, valid: torch.Tensor | None, full: bool = False) -> torch.Tensor:
    """The Seek block before issue 17: its own gate matmul, separate branch projections, broadcast fusion."""
    assert not full
    x = block.norm1(h)
    h = h + block.drop(broadcast_fusion(block.fusion, x, block.attn(x, valid)))
    return h + block.drop(block.ffn(block.norm2(h)))


@pytest.mark.parametrize("lean", [False, True])  # lean: linear_bias=False, norm_affine=False
def test_whole_model_equals_the_model_with_the_old_block_in_fp32(monkeypatch: pytest.MonkeyPatch, lean: bool) -> None:
    cfg = SeekConfig.preset("tiny", vocab_size=50, head="token", num_outputs=3, segment_size=8, dropout=0.0)
    cfg = cfg.replace(linear_bias=not lean, norm_affine=not lean)
    torch.manual_seed(0)
    model = SeekTransformer(cfg)
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.2)
    x = torch.randint(0, 50, (3, 29), generator=torch.Generator().manual_seed(1))
    mask = torch.arange(29)[None, :] < torch.tensor([[29], [20], [9]])

    def run() -> list[torch.Tensor]:
        model.zero_grad()
        out = model(x, mask)
        out.pow(2).sum().backward()
        return [out.detach()] + [p.grad.clone() for p in model.parameters()]

    new = run()
    monkeypatch.setattr(SeekBlock, "forward", old_block)
    old = run()
    for a, b in zip(new, old, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_the_compiled_form_of_the_fusion_equals_the_eager_batched_matmul_in_fp32(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    torch.manual_seed(0)
    fusion = MultiScaleFusion(16)
    torch.nn.init.normal_(fusion.gate.weight, std=0.5)
    x = torch.randn(2, 24, 16)
    branches = (torch.randn(2, 24, 16), torch.randn(2, 3, 16), torch.randn(2, 16))
    results = []
    for compiling in (False, True):
        monkeypatch.setattr(torch.compiler, "is_compiling", lambda c=compiling: c)
        leaves = [t.clone().requires_grad_(True) for t in (x, *branches)]
        out = fusion(leaves[0], tuple(leaves[1:]))
        out.pow(2).sum().backward()
        results.append([out.detach()] + [t.grad for t in leaves] + [fusion.gate.weight.grad.clone()])
        fusion.zero_grad()
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


def test_stacked_linear_equals_the_layers_applied_one_by_one() -> None:
    torch.manual_seed(0)
    first, second = torch.nn.Linear(12, 9), torch.nn.Linear(12, 3)
    x = torch.randn(4, 5, 12, requires_grad=True)
    a, b, c = stacked_linear(x, (first, second), (6, 3, 3))
    assert (a.shape, b.shape, c.shape) == ((4, 5, 6), (4, 5, 3), (4, 5, 3))
    expected = torch.cat((first(x), second(x)), dim=-1)
    torch.testing.assert_close(torch.cat((a, b, c), dim=-1), expected, rtol=0, atol=1e-6)
    (a.sum() + 2 * c.sum()).backward()
    got = [t.grad.clone() for t in (x, first.weight, second.weight, second.bias)]
    for t in (x, first.weight, second.weight, second.bias):
        t.grad = None
    ref = torch.cat((first(x), second(x)), dim=-1)
    (ref[..., :6].sum() + 2 * ref[..., 9:].sum()).backward()
    for g, t in zip(got, (x, first.weight, second.weight, second.bias), strict=True):
        torch.testing.assert_close(g, t.grad, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="do not add up"):
        stacked_linear(x, (first, second), (6, 3))


def test_stacked_linear_of_bias_free_layers_has_no_bias() -> None:
    torch.manual_seed(0)
    first, second = torch.nn.Linear(12, 9, bias=False), torch.nn.Linear(12, 3, bias=False)
    x = torch.randn(4, 5, 12)
    a, b = stacked_linear(x, (first, second), (9, 3))
    torch.testing.assert_close(torch.cat((a, b), dim=-1), torch.cat((first(x), second(x)), dim=-1), rtol=0, atol=1e-6)


def test_the_gpu_backward_of_the_mix_equals_autograd_through_the_batched_matmul_in_fp32() -> None:
    from seek.models.fusion import _ScaleMix, mix_scales

    torch.manual_seed(0)
    b, n, s, d = 3, 5, 4, 16  # n + 1 = 6 coarse rows, padded to 8
    w = torch.softmax(torch.randn(b, n * s, 3), dim=-1)
    inputs = (w, torch.randn(b, n * s, d), torch.randn(b, n, d), torch.randn(b, d))
    upstream = torch.randn(b, n * s, d)
    results = []
    for mix in (_ScaleMix.apply, mix_scales):
        leaves = [t.clone().requires_grad_(True) for t in inputs]
        out = mix(*leaves)
        out.backward(upstream)
        results.append([out.detach()] + [t.grad for t in leaves])
    for new, old in zip(*results, strict=True):
        torch.testing.assert_close(new, old, rtol=1e-6, atol=1e-5)
    doubles = tuple(t.double().requires_grad_(True) for t in inputs)
    assert torch.autograd.gradcheck(_ScaleMix.apply, doubles)
