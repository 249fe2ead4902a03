"""Attention layers: multi-head self-attention on SDPA, and hierarchical (segment-local + global) attention."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def pair_mask(valid: Tensor) -> Tensor:
    """Return an SDPA boolean mask (N, 1, T, T) from ``valid`` (N, T): True where a query may see a key.

    A real query sees only real keys. A padded query sees every key, so its softmax row is never
    empty (an all-masked row would be NaN, and NaN * 0 still poisons masked sums); its output is
    never read by a real position.
    """
    return valid[:, None, None, :] | ~valid[:, None, :, None]


def masked_mean(x: Tensor, weight: Tensor | None, dim: int) -> Tensor:
    """Mean of ``x`` over ``dim`` weighted by ``weight`` (same shape as x without the feature axis)."""
    if weight is None:
        return x.mean(dim)
    w = weight.to(x.dtype).unsqueeze(-1)
    return (x * w).sum(dim) / w.sum(dim).clamp(min=1.0)


class SelfAttention(nn.Module):
    """Multi-head self-attention through ``scaled_dot_product_attention`` (fused kernels on GPU)."""

    def __init__(self, hidden_size: int, num_heads: int, dropout: float, bias: bool = True) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.dropout = dropout
        self.qkv = nn.Linear(hidden_size, 3 * hidden_size, bias=bias)
        self.out = nn.Linear(hidden_size, hidden_size, bias=bias)

    def forward(self, x: Tensor, valid: Tensor | None = None) -> Tensor:
        """Attend within each row of ``x`` (N, T, D); ``valid`` (N, T) marks real positions."""
        n, t, d = x.shape
        head_dim = d // self.num_heads
        qkv = self.qkv(x)
        heads = qkv.shape[-1] // (3 * head_dim)  # num_heads, or this rank's share under tensor parallelism
        q, k, v = qkv.view(n, t, 3, heads, head_dim).permute(2, 0, 3, 1, 4)
        return self.attend(q, k, v, valid)

    def attend(self, q: Tensor, k: Tensor, v: Tensor, valid: Tensor | None) -> Tensor:
        """Output projection of SDPA over heads ``q``, ``k``, ``v`` (N, heads, T, head_dim)."""
        n, heads, t, head_dim = q.shape
        mask = None if valid is None else pair_mask(valid)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0)
        return self.out(y.transpose(1, 2).reshape(n, t, heads * head_dim))


def stacked_linear(x: Tensor, layers: Sequence[nn.Linear], chunks: Sequence[int]) -> list[Tensor]:
    """The outputs of ``layers`` on the same ``x``, concatenated and split into ``chunks``, from one matmul.

    Layers reading the same input cost one pass over it and one well-shaped GEMM instead of a second,
    tall-and-thin one (a 3-wide gate fits the matrix units badly, forward and backward). The stacked
    rows are padded to a multiple of 8 so the output stays 16-byte aligned in bf16 and the GEMM keeps
    its fast kernels; the padding repeats the last row, detached (no zeros to fill, no gradient), and
    its outputs are dropped. Splitting the one output straight into ``chunks`` makes the backward one
    concatenation.
    """
    rows = sum(layer.out_features for layer in layers)
    if sum(chunks) != rows:
        raise ValueError(f"stacked_linear: chunks {list(chunks)} do not add up to the {rows} output features")
    pad = (-rows) % 8
    last = layers[-1].weight
    weight = torch.cat([*(layer.weight for layer in layers), last[-1:].detach().expand(pad, last.shape[1])])
    bias = None
    if any(layer.bias is not None for layer in layers):
        parts = [layer.bias if layer.bias is not None else last.new_zeros(layer.out_features) for layer in layers]
        bias = torch.cat([*parts, parts[-1][-1:].detach().expand(pad)])
    out = F.linear(x, weight, bias)
    return list(out.split([*chunks, pad], dim=-1)[: len(chunks)])


class HierarchicalAttention(nn.Module):
    """Local attention inside fixed-size segments plus global attention across segment summaries.

    Cost is O(L * segment_size) for the local part and O((L / segment_size)^2) for the global part,
    so it grows about linearly with length L. Returns three views of the sequence, one per scale,
    for the multi-scale fusion to combine: token (B, L, D) from local attention, segment (B, L/S, D)
    the globally-attended segment summaries, and sequence (B, D) the whole sequence pooled. The
    coarse ones stay un-broadcast so no (B, L, D) copy of them is ever stored.
    """

    def __init__(self, hidden_size: int, num_heads: int, segment_size: int, dropout: float, bias: bool = True) -> None:
        super().__init__()
        self.segment_size = segment_size
        self.local = SelfAttention(hidden_size, num_heads, dropout, bias)
        self.summary = nn.Linear(hidden_size, hidden_size, bias=bias)
        self.global_ = SelfAttention(hidden_size, num_heads, dropout, bias)
        self.sequence = nn.Linear(hidden_size, hidden_size, bias=bias)

    def forward(self, x: Tensor, valid: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        """Return the (token, segment, sequence) branches of ``x`` (B, L, D), L a multiple of segment_size."""
        branches, _ = self.branches_and_gate(x, valid, None)
        return branches

    def branches_and_gate(
        self, x: Tensor, valid: Tensor | None, gate: nn.Linear | None
    ) -> tuple[tuple[Tensor, Tensor, Tensor], Tensor | None]:
        """The three branches and, when ``gate`` is given, ``gate(x)`` computed in the local qkv matmul."""
        b, length, d = x.shape
        s = self.segment_size
        n = length // s
        xs = x.reshape(b * n, s, d)
        vs = None if valid is None else valid.reshape(b * n, s)

        logits = None
        # The fused path needs the plain layout: tensor parallelism splits qkv, compression swaps in pruned
        # attention (fewer heads) or INT8 layers; those keep their own forward and a separate gate.
        fused = type(self.local) is SelfAttention and type(self.local.qkv) is nn.Linear
        if gate is None or not fused:
            token = self.local(xs, vs).reshape(b, length, d)
            logits = None if gate is None else gate(x)
        else:
            *qkv, logits = stacked_linear(xs, (self.local.qkv, gate), (d, d, d, gate.out_features))
            heads = self.local.num_heads
            q, k, v = (part.view(b * n, s, heads, d // heads).transpose(1, 2) for part in qkv)
            token = self.local.attend(q, k, v, vs).reshape(b, length, d)
            logits = logits.reshape(b, length, -1)

        summaries = self.summary(masked_mean(xs, vs, dim=1)).view(b, n, d)
        seg_valid = None if vs is None else vs.any(dim=1).view(b, n)
        segment = self.global_(summaries, seg_valid)

        # Weight segments by their number of real tokens so this equals a token-level masked mean.
        counts = None if vs is None else vs.sum(dim=1).view(b, n)
        sequence = self.sequence(masked_mean(segment, counts, dim=1))
        return (token, segment, sequence), logits


def segment_padding(length: int, segment_size: int) -> int:
    """Number of positions to append so ``length`` becomes a multiple of ``segment_size``."""
    return (-length) % segment_size


def pad_to_segments(x: Tensor, valid: Tensor | None, segment_size: int) -> tuple[Tensor, Tensor | None]:
    """Pad ``x`` (B, L, ...) and its mask along L to a multiple of ``segment_size``; new positions are padding."""
    extra = segment_padding(x.shape[1], segment_size)
    if extra == 0:
        return x, valid
    b, length = x.shape[:2]
    if valid is None:
        valid = torch.ones(b, length, dtype=torch.bool, device=x.device)
    pad_x = x.new_zeros((b, extra, *x.shape[2:]))
    pad_v = valid.new_zeros((b, extra))
    return torch.cat([x, pad_x], dim=1), torch.cat([valid, pad_v], dim=1)
