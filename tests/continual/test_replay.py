"""The replay reservoir and the replay loss callback."""

from __future__ import annotations

import torch

from seek.continual.replay import ReplayLoss, reservoir_add
from seek.continual.state import ContinualState


def _data(n: int, start: int = 0):
    return {"x": torch.arange(start, start + n, dtype=torch.float32).reshape(n, 1), "y": torch.zeros(n)}


def test_reservoir_never_exceeds_capacity_and_mixes_old_and_new() -> None:
    state = ContinualState("replay")
    reservoir_add(state, _data(100), capacity=30, seed=0)
    reservoir_add(state, _data(100, start=1000), capacity=30, seed=0)
    values = state.replay["x"].reshape(-1)
    assert len(values) == 30 and state.replay_seen == 200
    assert (values < 1000).any() and (values >= 1000).any()


def test_reservoir_is_deterministic_under_a_seed() -> None:
    a, b = ContinualState("replay"), ContinualState("replay")
    for state in (a, b):
        reservoir_add(state, _data(50), capacity=10, seed=4)
        reservoir_add(state, _data(50, 500), capacity=10, seed=4)
    assert torch.equal(a.replay["x"], b.replay["x"])


def test_replay_loss_adds_the_loss_of_a_replayed_batch() -> None:
    state = ContinualState("replay")
    reservoir_add(state, {"x": torch.ones(8, 2), "y": torch.ones(8)}, capacity=8, seed=0)
    model = torch.nn.Linear(2, 1)

    class FakeTrainer:
        device = torch.device("cpu")

        class state:
            global_step = 3

    trainer = FakeTrainer()
    trainer.model = trainer.wrapped = lambda x, mask=None: model(x)

    def loss_fn(out, batch):
        return ((out.reshape(-1) - batch["y"]) ** 2).mean()

    callback = ReplayLoss(state, loss_fn, batch_size=4)
    callback.on_train_start(trainer)
    base = torch.tensor(0.25)
    expected = 0.25 + loss_fn(model(torch.ones(4, 2)), {"y": torch.ones(4)}).item()
    assert callback.on_batch_loss(trainer, {}, base).item() == torch.tensor(expected).item()
