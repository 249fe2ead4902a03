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

    def forward(self, x: Tensor, branches: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        """Fuse token (B, L, D), segment (B, L/S, D) and sequence (B, D) branches into (B, L, D)."""
        token, segment, sequence = branches
        b, length, d = token.shape
        n = segment.shape[1]
        w = self.gate_weights(x)
        # Broadcasting, not expand + copy: the coarse branches are never materialised at length L.
        seg = (w[..., 1:2].view(b, n, length // n, 1) * segment.unsqueeze(2)).view(b, length, d)
        return w[..., 0:1] * token + seg + w[..., 2:3] * sequence.unsqueeze(1)
