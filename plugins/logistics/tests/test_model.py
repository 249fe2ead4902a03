"""The ETA network, its loss and the true-Fisher draw."""

from __future__ import annotations

import torch

from seek_logistics.features import NUMERIC_DIM
from seek_logistics.model import build, loss_fn, sample_targets


def _x(n: int = 8) -> torch.Tensor:
    numeric = torch.randn(n, NUMERIC_DIM)
    slots = torch.randint(0, 16, (n, 6)).float()
    return torch.cat([numeric, slots], dim=1)


def test_forward_gives_hours_and_late_logit_and_a_loss_that_trains() -> None:
    torch.manual_seed(0)
    model = build()
    x, y = _x(64), torch.stack([torch.randn(64), (torch.rand(64) > 0.5).float()], dim=1)
    assert model(x).shape == (64, 2)
    loss = loss_fn(0.5)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = loss(model(x), {"y": y}).item()
    for _ in range(50):
        optimizer.zero_grad()
        loss(model(x), {"y": y}).backward()
        optimizer.step()
    assert loss(model(x), {"y": y}).item() < first


def test_true_fisher_draw_is_seeded_and_late_draws_are_binary() -> None:
    outputs = torch.zeros(100, 2)
    batch = {"y": torch.zeros(100, 2)}
    a = sample_targets(outputs, batch, torch.Generator().manual_seed(1))["y"]
    b = sample_targets(outputs, batch, torch.Generator().manual_seed(1))["y"]
    assert torch.equal(a, b)
    assert set(a[:, 1].tolist()) <= {0.0, 1.0}
    assert 0.5 < a[:, 0].std().item() < 0.9  # sigma = sqrt(1/2)
