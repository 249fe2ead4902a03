"""The EWC penalty and the callback that adds it to the Trainer's loss."""

from __future__ import annotations

import pytest
import torch

from seek.continual.penalty import EWCPenalty, ewc_penalty
from seek.continual.state import ContinualState


def _model_and_state(seed: int = 0):
    torch.manual_seed(seed)
    model = torch.nn.Linear(3, 2)
    fisher = {name: torch.rand_like(p) + 0.1 for name, p in model.named_parameters()}
    state = ContinualState("ewc")
    state.consolidate(model, fisher)
    return model, state, fisher


def test_penalty_is_zero_at_the_anchor() -> None:
    model, state, _ = _model_and_state()
    assert ewc_penalty(model, state.fisher, state.anchors, lam=100.0).item() == 0.0


def test_penalty_grows_quadratically_away_from_the_anchor() -> None:
    model, state, fisher = _model_and_state()
    direction = {name: torch.randn_like(p) for name, p in model.named_parameters()}
    values = []
    for scale in (1.0, 2.0, 3.0):
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(state.anchors[0][name] + scale * direction[name])
        values.append(ewc_penalty(model, state.fisher, state.anchors, lam=2.0).item())
    assert values[1] == pytest.approx(4 * values[0], rel=1e-5)
    assert values[2] == pytest.approx(9 * values[0], rel=1e-5)
    expected = sum((fisher[n] * direction[n].pow(2)).sum().item() for n in fisher)  # lam/2 * 1^2 * sum F d^2
    assert values[0] == pytest.approx(expected, rel=1e-5)


def test_penalty_sums_one_term_per_task_for_ewc() -> None:
    model, state, _ = _model_and_state()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    one = ewc_penalty(model, state.fisher, state.anchors, 1.0).item()
    state.fisher.append(state.fisher[0])
    state.anchors.append(state.anchors[0])
    assert ewc_penalty(model, state.fisher, state.anchors, 1.0).item() == pytest.approx(2 * one)


def test_callback_adds_the_penalty_and_gradient_pulls_towards_the_anchor() -> None:
    model, state, _ = _model_and_state()
    with torch.no_grad():
        model.bias.add_(1.0)

    class FakeTrainer:
        device = torch.device("cpu")

    trainer = FakeTrainer()
    trainer.model = model
    callback = EWCPenalty(state, lam=10.0)
    callback.on_train_start(trainer)
    loss = callback.on_batch_loss(trainer, {}, torch.zeros(()))
    assert loss.item() > 0
    loss.backward()
    assert torch.all(model.bias.grad > 0)  # gradient descent moves the bias back down to the anchor


def test_callback_adds_nothing_before_any_consolidation() -> None:
    callback = EWCPenalty(ContinualState("ewc"), lam=10.0)

    class FakeTrainer:
        device = torch.device("cpu")
        model = torch.nn.Linear(2, 1)

    callback.on_train_start(FakeTrainer())
    loss = torch.tensor(1.5)
    assert callback.on_batch_loss(FakeTrainer(), {}, loss) is loss
