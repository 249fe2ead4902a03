"""Seek and full-attention blocks: the full-attention switch below ``config.full_attention_below``."""

from __future__ import annotations

import torch

from seek.models import SeekConfig, SeekTransformer

SWITCH = 24


def pair() -> tuple[SeekTransformer, SeekTransformer]:
    """A Seek model switching to full attention below 24 tokens, and a full-attention model sharing its weights."""
    cfg = SeekConfig.preset(
        "tiny", vocab_size=40, head="token", num_outputs=2, segment_size=8, dropout=0.0, full_attention_below=SWITCH
    )
    torch.manual_seed(0)
    ours, full = SeekTransformer(cfg), SeekTransformer(cfg.replace(attention="full"))
    mapped = {key.replace(".attn.local.", ".attn."): value for key, value in ours.state_dict().items()}
    full.load_state_dict({key: mapped[key] for key in full.state_dict()})
    return ours, full


def test_below_the_switch_a_seek_model_computes_exactly_the_full_attention_model() -> None:
    ours, full = pair()
    x = torch.randint(0, 40, (2, SWITCH - 1))
    mask = torch.tensor([[True] * (SWITCH - 1), [True] * 10 + [False] * (SWITCH - 11)])
    assert torch.equal(ours(x, mask), full(x, mask))


def test_at_the_switch_the_hierarchy_is_used() -> None:
    ours, full = pair()
    x = torch.randint(0, 40, (2, SWITCH))
    assert not torch.allclose(ours(x), full(x))


def test_below_the_switch_the_coarse_branches_get_no_gradient() -> None:
    ours, _ = pair()
    ours(torch.randint(0, 40, (2, 9))).sum().backward()
    block = ours.blocks[0]
    assert block.fusion.gate.weight.grad is None and block.attn.global_.qkv.weight.grad is None
    assert block.attn.local.qkv.weight.grad is not None


def test_gpu_presets_switch_below_8192_tokens_and_tiny_never() -> None:
    assert SeekConfig.preset("tiny", vocab_size=10).full_attention_below == 0
    for name in ("small", "base", "large", "xl"):
        cfg = SeekConfig.preset(name, vocab_size=10)
        assert cfg.uses_full_attention(8191) and not cfg.uses_full_attention(8192)
