"""Diagonal Fisher estimates: non-negative, deterministic under a seed, variants that differ."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seek.continual.fisher import categorical_sampler, estimate_fisher, gaussian_sampler
from seek.errors import ConfigError


def _regression():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    x = torch.randn(200, 4)
    data = {"x": x, "y": (x.sum(dim=1, keepdim=True) + 0.1 * torch.randn(200, 1))}

    def loss(out, batch):
        return F.mse_loss(out, batch["y"].reshape(out.shape))

    return model, data, loss


@pytest.mark.parametrize("variant", ["empirical", "true", "batched"])
def test_fisher_is_non_negative_and_deterministic_under_a_seed(variant: str) -> None:
    model, data, loss = _regression()
    kwargs = {"variant": variant, "n_samples": 64, "seed": 3, "sample_targets": gaussian_sampler(0.7)}
    first = estimate_fisher(model, data, loss, **kwargs)
    second = estimate_fisher(model, data, loss, **kwargs)
    assert set(first) == {name for name, _ in model.named_parameters()}
    for name in first:
        assert torch.all(first[name] >= 0)
        assert torch.equal(first[name], second[name])
    assert sum(f.sum().item() for f in first.values()) > 0


def test_variants_give_different_estimates_and_batched_is_smaller() -> None:
    model, data, loss = _regression()
    common = {"n_samples": 128, "seed": 0, "sample_targets": gaussian_sampler(0.7)}
    totals = {
        v: sum(f.sum().item() for f in estimate_fisher(model, data, loss, variant=v, **common).values())
        for v in ("empirical", "true", "batched")
    }
    assert len({round(t, 6) for t in totals.values()}) == 3
    assert totals["batched"] < totals["empirical"]


def test_a_different_seed_samples_other_rows() -> None:
    model, data, loss = _regression()
    a = estimate_fisher(model, data, loss, n_samples=16, seed=0)
    b = estimate_fisher(model, data, loss, n_samples=16, seed=1)
    assert any(not torch.equal(a[n], b[n]) for n in a)


def test_true_fisher_needs_a_sampler_and_unknown_variants_are_refused() -> None:
    model, data, loss = _regression()
    with pytest.raises(ConfigError, match="sample_targets"):
        estimate_fisher(model, data, loss, variant="true")
    with pytest.raises(ConfigError, match="unknown"):
        estimate_fisher(model, data, loss, variant="exact")


def test_categorical_sampler_draws_valid_labels_and_leaves_the_model_mode() -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 4)
    model.train()
    data = {"x": torch.randn(50, 3), "y": torch.randint(0, 4, (50,))}
    fisher = estimate_fisher(
        model,
        data,
        lambda out, batch: F.cross_entropy(out, batch["y"]),
        variant="true",
        n_samples=20,
        sample_targets=categorical_sampler(),
    )
    assert all(torch.all(f >= 0) for f in fisher.values())
    assert model.training
