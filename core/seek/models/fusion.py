"""Multi-scale feature fusion: a learned per-position gate over token, segment and sequence branches."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class MultiScaleFusion(nn.Module):
    """Mix token, segment and sequence branches with softmax weights computed from each position's input.

    The gate starts at equal weights (zero init) so every scale contributes from the first step;
    training then learns, position by position, whether local keywords or global structure matter.
    """

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.gate = nn.Linear(hidden_size, 3)
        nn.init.zeros_(self.gate.weight)
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
        # Eager: both coarse branches enter through one batched matmul per segment, (S, 2) @ (2, D), added
        # onto the weighted token branch in the same call: two passes over (B, L, D) instead of five, and
        # the coarse branches are still never materialised at length L.
        coarse = torch.stack((segment, sequence.unsqueeze(1).expand(b, n, d)), dim=2).view(b * n, 2, d)
        weighted = (w[..., :1] * token).view(b * n, s, d)
        return torch.baddbmm(weighted, w[..., 1:].reshape(b * n, s, 2), coarse).view(b, length, d)
