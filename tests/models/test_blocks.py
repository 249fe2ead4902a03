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


def lean_config(**overrides: object) -> SeekConfig:
    """tiny with bias-free block linears and non-parametric LayerNorms."""
    values = {"vocab_size": 40, "head": "token", "num_outputs": 2, "segment_size": 8, "dropout": 0.0}
    return SeekConfig.preset("tiny", **{**values, "linear_bias": False, "norm_affine": False, **overrides})


def test_a_lean_model_has_no_block_biases_and_no_norm_parameters() -> None:
    model = SeekTransformer(lean_config())
    names = [name for name, _ in model.named_parameters()]
    in_blocks = [name for name in names if name.startswith("blocks.") or name.startswith("norm.")]
    assert in_blocks and not [name for name in in_blocks if name.endswith(".bias") or ".norm" in name]
    assert "adapter.norm.weight" in names and "head.proj.bias" in names  # adapter and head keep theirs
    assert model.norm.weight is None
    default = SeekTransformer(lean_config(linear_bias=True, norm_affine=True))
    assert model.num_parameters() < default.num_parameters()


def test_a_lean_model_trains_through_the_hierarchy_and_the_full_attention_switch() -> None:
    torch.manual_seed(0)
    model = SeekTransformer(lean_config(full_attention_below=SWITCH))
    model.zero_grad(set_to_none=True)
    model(torch.randint(0, 40, (2, SWITCH))).pow(2).sum().backward()  # the hierarchy, gate fused into qkv
    grads = {name: p.grad for name, p in model.named_parameters()}
    assert all(g is not None and bool(torch.isfinite(g).all()) for g in grads.values())
    assert float(grads["blocks.0.fusion.gate.weight"].abs().sum()) > 0
    model.zero_grad(set_to_none=True)
    model(torch.randint(0, 40, (2, SWITCH - 1))).pow(2).sum().backward()  # full attention
    assert model.blocks[0].attn.local.qkv.weight.grad is not None
