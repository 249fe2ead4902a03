"""Multi-scale feature fusion: a learned per-position gate over token, segment and sequence branches."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class MultiScaleFusion(nn.Module):
    """Mix branches at several granularities with softmax weights computed from each position's input.

    The gate starts at equal weights (zero init) so every scale contributes from the first step;
    training then learns, position by position, whether local keywords or global structure matter.
    """

    def __init__(self, hidden_size: int, num_branches: int = 3) -> None:
        super().__init__()
        self.gate = nn.Linear(hidden_size, num_branches)
        nn.init.zeros_(self.gate.weight)
        nn.init.zeros_(self.gate.bias)

    def forward(self, x: Tensor, branches: tuple[Tensor, ...]) -> Tensor:
        """Return sum_i gate_i(x) * branches[i]; ``x`` and every branch are (B, L, D)."""
        weights = self.gate_weights(x)
        # A running sum, not torch.stack: stacking would hold one more (B, L, D) copy per branch.
        out = weights[..., 0:1] * branches[0]
        for i in range(1, len(branches)):
            out = out + weights[..., i : i + 1] * branches[i]
        return out

    def gate_weights(self, x: Tensor) -> Tensor:
        """Return the (B, L, num_branches) mixing weights, for inspection."""
        return torch.softmax(self.gate(x), dim=-1)
