"""Transformer blocks: the Seek block (hierarchical attention + multi-scale fusion) and the full-attention block."""

from __future__ import annotations

from torch import Tensor, nn

from seek.models.attention import HierarchicalAttention, SelfAttention
from seek.models.config import SeekConfig
from seek.models.fusion import MultiScaleFusion
from seek.models.layers import FeedForward


def block_norm(config: SeekConfig) -> nn.LayerNorm:
    """A block's LayerNorm (and the model's final one): learned gain and bias unless ``norm_affine`` is off."""
    return nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps, elementwise_affine=config.norm_affine)


class SeekBlock(nn.Module):
    """Pre-norm block: hierarchical attention fused across scales, then a SiLU feed-forward, each residual."""

    def __init__(self, config: SeekConfig) -> None:
        super().__init__()
        d, bias = config.hidden_size, config.linear_bias
        self.norm1 = block_norm(config)
        self.attn = HierarchicalAttention(d, config.num_heads, config.segment_size, config.dropout, bias)
        self.fusion = MultiScaleFusion(d, bias)
        self.norm2 = block_norm(config)
        self.ffn = FeedForward(d, config.ffn_size, config.dropout, bias)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, h: Tensor, valid: Tensor | None, full: bool = False) -> Tensor:
        """Update ``h`` (B, L, D), L a multiple of segment_size; ``valid`` (B, L) marks real positions.

        ``full=True`` (a sequence below ``config.full_attention_below``) runs the block as a plain
        full-attention block on its local-attention weights, skipping the coarse branches and the fusion.
        """
        x = self.norm1(h)
        if full:
            mixed = self.attn.local(x, valid)
        else:
            branches, logits = self.attn.branches_and_gate(x, valid, self.fusion.gate)
            mixed = self.fusion(x, branches, logits)
        h = h + self.drop(mixed)
        return h + self.drop(self.ffn(self.norm2(h)))


class FullAttentionBlock(nn.Module):
    """Plain pre-norm transformer block with full self-attention: the baseline Seek is measured against."""

    def __init__(self, config: SeekConfig) -> None:
        super().__init__()
        d, bias = config.hidden_size, config.linear_bias
        self.norm1 = block_norm(config)
        self.attn = SelfAttention(d, config.num_heads, config.dropout, bias)
        self.norm2 = block_norm(config)
        self.ffn = FeedForward(d, config.ffn_size, config.dropout, bias)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, h: Tensor, valid: Tensor | None, full: bool = True) -> Tensor:
        """Update ``h`` (B, L, D); ``valid`` (B, L) marks real positions (``full`` is always true here)."""
        h = h + self.drop(self.attn(self.norm1(h), valid))
        return h + self.drop(self.ffn(self.norm2(h)))
