"""The stream runner on a small synthetic stream: every strategy from one start, lambda chosen on val."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seek.continual.fisher import gaussian_sampler
from seek.continual.metrics import decay
from seek.continual.state import ContinualState
from seek.continual.strategies import StreamSettings, Task, run_stream, update
from seek.errors import ConfigError
from seek.training import Trainer, TrainerConfig


def _task(j: int, n: int = 240) -> Task:
    generator = torch.Generator().manual_seed(j)
    weights = torch.randn(4, generator=generator) * 2

    def part(size: int, offset: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(100 * j + offset)
        x = torch.randn(size, 4, generator=g)
        context = F.one_hot(torch.full((size,), j), 3).float()
        return {"x": torch.cat([x, context], dim=1), "y": (x @ weights + 3 * j).reshape(-1, 1)}

    return Task(f"T{j}", part(n, 1), part(n // 4, 2), part(n // 4, 3))


class Mlp(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(7, 32), torch.nn.SiLU(), torch.nn.Linear(32, 1))

    def forward(self, x, mask=None):
        return self.net(x)


class TinyLearner:
    primary = "mae"

    def __init__(self) -> None:
        self.fits: list[str] = []
        self.sample_targets = gaussian_sampler(0.7)

    @staticmethod
    def loss_fn(out, batch):
        return F.mse_loss(out, batch["y"].reshape(out.shape))

    def new_model(self):
        torch.manual_seed(0)
        return Mlp()

    def fit(self, model, train, val, callbacks, name):
        self.fits.append(name)
        config = TrainerConfig(epochs=15, batch_size=32, lr=1e-2, early_stopping_patience=None, seed=0)
        Trainer(model, config, loss_fn=self.loss_fn, callbacks=callbacks, progress=False).fit(train, val)

    def errors(self, model, data):
        with torch.no_grad():
            diff = (model(data["x"]) - data["y"]).abs()
        return {"mae": float(diff.mean()), "mape": float((diff / data["y"].abs().clamp(min=1e-3)).mean())}


@pytest.fixture(scope="module")
def stream():
    learner = TinyLearner()
    settings = StreamSettings(lambdas=(10.0, 100.0, 1000.0), tolerance=0.5, fisher_samples=128, replay_capacity=60)
    tasks = [_task(j) for j in range(3)]
    return learner, run_stream(tasks, learner, ["naive", "ewc", "online-ewc", "replay", "joint"], settings)


def test_every_strategy_gets_a_full_matrix_from_the_same_first_model(stream) -> None:
    _, result = stream
    first_rows = {name: m["mae"][0] for name, m in result.errors.items()}
    assert all(len(m["mae"]) == 3 and all(len(r) == 3 for r in m["mae"]) for m in result.errors.values())
    assert len({tuple(row) for row in first_rows.values()}) == 1


def test_ewc_and_replay_forget_less_than_naive_fine_tuning(stream) -> None:
    _, result = stream
    naive = decay(result.errors["naive"]["mae"])
    assert naive > 0.5, "the synthetic tasks conflict: naive fine-tuning must forget"
    assert decay(result.errors["ewc"]["mae"]) < naive
    assert decay(result.errors["replay"]["mae"]) < naive


def test_lambda_is_chosen_on_the_new_tasks_validation_split(stream) -> None:
    learner, result = stream
    for info in result.updates["ewc"]:
        assert info.candidates[0][0] == 0.0 and info.fits == len(info.candidates)
        reference = info.candidates[0][1]
        kept = [lam for lam, err in info.candidates if err <= reference * 1.5]
        assert info.lam == max(kept)
    assert any(name.startswith("ewc-T1-lam") for name in learner.fits)


def test_memory_online_ewc_constant_ewc_grows_joint_stores_all_history(stream) -> None:
    _, result = stream
    online = [u.state_bytes for u in result.updates["online-ewc"]]
    ewc = [u.state_bytes for u in result.updates["ewc"]]
    joint = [u.state_bytes for u in result.updates["joint"]]
    assert online[0] == online[1] and ewc[1] > ewc[0] and joint[1] > joint[0]
    assert all(u.state_bytes == 0 for u in result.updates["naive"])


def test_update_refuses_joint_and_a_stream_needs_two_tasks() -> None:
    learner = TinyLearner()
    with pytest.raises(ConfigError, match="not an update strategy"):
        update(learner.new_model(), ContinualState("joint"), _task(0), learner, StreamSettings(), "x")
    with pytest.raises(ConfigError, match="at least 2"):
        run_stream([_task(0)], learner, ["naive"], StreamSettings())
