"""Multi-scale feature fusion: a learned per-position gate over token, segment and sequence branches."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn


class MultiScaleFusion(nn.Module):
    """Mix token, segment and sequence branches with softmax weights computed from each position's input.

    The gate starts at equal weights (zero init) so every scale contributes from the first step;
    training then learns, position by position, whether local keywords or global structure matter.
    """

    def __init__(self, hidden_size: int, bias: bool = True) -> None:
        super().__init__()
        self.gate = nn.Linear(hidden_size, 3, bias=bias)
        nn.init.zeros_(self.gate.weight)
        if self.gate.bias is not None:
            nn.init.zeros_(self.gate.bias)

    def gate_weights(self, x: Tensor) -> Tensor:
        """Return the (B, L, 3) mixing weights (token, segment, sequence) for ``x`` (B, L, D)."""
        return torch.softmax(self.gate(x), dim=-1)

    def forward(self, x: Tensor, branches: tuple[Tensor, Tensor, Tensor], logits: Tensor | None = None) -> Tensor:
        """Fuse token (B, L, D), segment (B, L/S, D) and sequence (B, D) branches into (B, L, D).

        ``logits`` (B, L, 3) is ``self.gate(x)`` when the caller has already computed it (in the local
        attention's qkv matmul, see ``HierarchicalAttention.branches_and_gate``).
        """
        token, segment, sequence = branches
        b, length, d = token.shape
        n = segment.shape[1]
        s = length // n
        w = torch.softmax(self.gate(x) if logits is None else logits, dim=-1).to(token.dtype)
        if torch.compiler.is_compiling():
            # Compiled, the broadcast form fuses into one kernel each way; the batched matmul below would
            # stay three thin (K = 2) GEMMs, which the compiler does not fuse.
            ws = w.view(b, n, s, 3)
            mixed = ws[..., :1] * token.view(b, n, s, d) + ws[..., 1:2] * segment.unsqueeze(2)
            return (mixed + ws[..., 2:] * sequence.view(b, 1, 1, d)).view(b, length, d)
        if token.is_cuda:
            return _ScaleMix.apply(w, token, segment, sequence)  # type: ignore[no-any-return]
        return mix_scales(w, token, segment, sequence)


def mix_scales(w: Tensor, token: Tensor, segment: Tensor, sequence: Tensor) -> Tensor:
    """``w[..., 0] * token + w[..., 1] * segment (broadcast over its positions) + w[..., 2] * sequence``.

    Both coarse branches enter through one batched matmul per segment, (S, 2) @ (2, D), added onto the
    weighted token branch in the same call: two passes over (B, L, D) instead of five, and the coarse
    branches are never materialised at length L.
    """
    b, length, d = token.shape
    n = segment.shape[1]
    s = length // n
    coarse = torch.stack((segment, sequence.unsqueeze(1).expand(b, n, d)), dim=2).view(b * n, 2, d)
    weighted = (w[..., :1] * token).view(b * n, s, d)
    return torch.baddbmm(weighted, w[..., 1:].reshape(b * n, s, 2), coarse).view(b, length, d)


class _ScaleMix(torch.autograd.Function):
    """``mix_scales`` as matmuls against all coarse rows of a sequence at once (used on a GPU, in eager mode).

    Per sequence the coarse rows are its n segment summaries and its sequence vector, P = n + 1 padded
    to a multiple of 8, and a (P, L) mixing matrix holds each position's two weights (its segment's row
    and the sequence row, zeros elsewhere). Forward, backward to the weights and backward to the rows are
    then three well-shaped matmuls, (L, P) @ (P, D), (L, D) @ (D, P) and (P, L) @ (L, D), each reading the
    (L, D) operand once. ``mix_scales`` and autograd through it run batched matmuls with a dimension of
    2 (or 1) per segment instead, which cuBLAS runs far below the memory bandwidth (on an H200, ``large``:
    3.0 ms of a step; BENCHMARKS.md "GPU efficiency"). The zeros cost P / 2 times the useful
    multiply-adds, about 0.2% of a ``large`` step's FLOPs.
    """

    @staticmethod
    def forward(ctx: Any, w: Tensor, token: Tensor, segment: Tensor, sequence: Tensor) -> Tensor:
        b, length, d = token.shape
        n = segment.shape[1]
        s, pad = length // n, (-(n + 1)) % 8
        rows = torch.cat((segment, sequence.unsqueeze(1), segment.new_zeros(b, pad, d)), dim=1)  # (B, P, D)
        mix = w.new_zeros(b, n + 1 + pad, length)  # row j < n: segment j's weights on its positions; row n: w[..., 2]
        mix[:, :n].view(b, n, n, s).diagonal(dim1=1, dim2=2).copy_(w[..., 1].view(b, n, s).transpose(1, 2))
        mix[:, n] = w[..., 2]
        ctx.save_for_backward(w, token, rows, mix)
        ctx.segments = n
        return torch.baddbmm(w[..., :1] * token, mix.transpose(1, 2), rows)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        w, token, rows, mix = ctx.saved_tensors
        b, length, _ = token.shape
        n = ctx.segments
        grad = grad.contiguous()
        dots = torch.bmm(grad, rows.transpose(1, 2))  # (B, L, P): each position's gradient . every coarse row
        own = dots.view(b, n, length // n, -1)[..., :n].diagonal(dim1=1, dim2=3)  # (B, S, n): . its own segment
        grad_w = torch.stack(((grad * token).sum(-1), own.transpose(1, 2).reshape(b, length), dots[..., n]), dim=-1)
        coarse = torch.bmm(mix, grad)  # (B, P, D)
        return grad_w, grad * w[..., :1], coarse[:, :n], coarse[:, n]
