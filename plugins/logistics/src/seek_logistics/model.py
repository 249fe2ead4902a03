"""The ETA model: feature embeddings + an MLP with two heads (delivery hours, late logit), saved by the core.

It is a ``torch-module`` artifact: ``seek.artifacts`` rebuilds it with :func:`build` from its JSON
config and loads its safetensors weights. The loss is MSE on standardised hours plus ``late_weight`` x
binary cross-entropy on the late flag; its likelihood (Gaussian with variance 1/2, which MSE is the
negative log of, and a Bernoulli) is what the true Fisher samples from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seek_logistics.data import CATEGORICAL
from seek_logistics.features import NUMERIC_DIM

if TYPE_CHECKING:
    import torch

BUILDER = "seek_logistics.model:build"


def build(capacity: int = 16, embedding_dim: int = 4, hidden: int = 64, layers: int = 2, dropout: float = 0.0) -> Any:
    """An :class:`EtaNet` (imported lazily so this module stays light)."""
    return _net_class()(capacity, embedding_dim, hidden, layers, dropout)


def _net_class() -> Any:
    import torch
    from torch import nn

    class EtaNet(nn.Module):
        """x = [numeric features | categorical slot ids] -> (B, 2): standardised hours, late logit."""

        def __init__(self, capacity: int, embedding_dim: int, hidden: int, layers: int, dropout: float) -> None:
            super().__init__()
            self.embeddings = nn.ModuleList(nn.Embedding(capacity, embedding_dim) for _ in CATEGORICAL)
            blocks: list[nn.Module] = []
            width = NUMERIC_DIM + embedding_dim * len(CATEGORICAL)
            for _ in range(layers):
                blocks += [nn.Linear(width, hidden), nn.SiLU(), nn.Dropout(dropout)]
                width = hidden
            self.body = nn.Sequential(*blocks)
            self.head = nn.Linear(width, 2)

        def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
            numeric, slots = x[:, :NUMERIC_DIM], x[:, NUMERIC_DIM:].long()
            embedded = [table(slots[:, i]) for i, table in enumerate(self.embeddings)]
            return self.head(self.body(torch.cat([numeric, *embedded], dim=1)))

    return EtaNet


def loss_fn(late_weight: float = 0.5) -> Any:
    """MSE on standardised hours + ``late_weight`` x BCE on the late flag (y is (B, 2))."""

    def loss(outputs: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        import torch.nn.functional as F

        y = batch["y"].float()
        mse = F.mse_loss(outputs[:, 0].float(), y[:, 0])
        return mse + late_weight * F.binary_cross_entropy_with_logits(outputs[:, 1].float(), y[:, 1])

    return loss


def sample_targets(outputs: torch.Tensor, batch: dict[str, Any], generator: Any) -> dict[str, Any]:
    """A draw of y from the model: hours ~ N(output, 1/2) (MSE's likelihood), late ~ Bernoulli(sigmoid)."""
    import torch

    outputs = outputs.float().cpu()
    hours = outputs[:, 0] + (0.5**0.5) * torch.randn(outputs[:, 0].shape, generator=generator)
    late = torch.bernoulli(torch.sigmoid(outputs[:, 1]), generator=generator)
    return {**batch, "y": torch.stack([hours, late], dim=1).to(batch["y"].device)}
