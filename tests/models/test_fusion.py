"""Hierarchical attention and multi-scale fusion: information flow across segments and the learned gate."""

from __future__ import annotations

import torch

from seek.models import SeekConfig, SeekTransformer
from seek.models.attention import HierarchicalAttention
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
