"""Continual state: online EWC keeps constant memory, EWC grows; safetensors round trip."""

from __future__ import annotations

import pytest
import torch

from seek.continual.state import ContinualState
from seek.errors import IntegrityError
from seek.runs import RunFolder


def _fisher(model, value: float):
    return {name: torch.full_like(p, value) for name, p in model.named_parameters()}


def test_online_ewc_state_size_after_three_updates_equals_after_one() -> None:
    model = torch.nn.Linear(5, 3)
    state = ContinualState("online-ewc", gamma=0.5)
    state.consolidate(model, _fisher(model, 1.0))
    after_one = state.nbytes
    for _ in range(2):
        state.consolidate(model, _fisher(model, 1.0))
    assert state.nbytes == after_one and len(state.fisher) == 1
    # running Fisher: 0.5 * (0.5 * 1 + 1) + 1 = 1.75
    assert torch.allclose(state.fisher[0]["weight"], torch.full((3, 5), 1.75))


def test_ewc_keeps_one_term_per_task() -> None:
    model = torch.nn.Linear(5, 3)
    state = ContinualState("ewc")
    for i in range(3):
        state.consolidate(model, _fisher(model, float(i)))
    assert len(state.fisher) == 3 and state.nbytes == 3 * 2 * (15 + 3) * 4


def test_anchor_is_a_copy_of_the_parameters_at_consolidation() -> None:
    model = torch.nn.Linear(2, 1)
    state = ContinualState("online-ewc")
    state.consolidate(model, _fisher(model, 1.0))
    with torch.no_grad():
        model.weight.add_(5.0)
    assert not torch.equal(state.anchors[0]["weight"], model.weight)


def test_state_round_trips_through_safetensors(tmp_path) -> None:
    model = torch.nn.Linear(4, 2)
    state = ContinualState("ewc", gamma=0.9, lambdas=[10.0])
    state.consolidate(model, _fisher(model, 0.3))
    state.consolidate(model, _fisher(model, 0.7))
    state.replay = {"x": torch.randn(6, 4), "y": torch.randn(6, 2)}
    state.replay_seen = 40
    run = RunFolder(tmp_path / "run")
    path = state.save(run, "continual/ewc.safetensors")
    loaded = ContinualState.load(path)
    scalars = (loaded.strategy, loaded.gamma, loaded.tasks, loaded.replay_seen, loaded.lambdas)
    assert scalars == ("ewc", 0.9, 2, 40, [10.0])
    assert loaded.nbytes == state.nbytes
    assert torch.equal(loaded.fisher[1]["weight"], state.fisher[1]["weight"])
    assert torch.equal(loaded.replay["x"], state.replay["x"])


def test_a_foreign_safetensors_file_is_refused(tmp_path) -> None:
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(IntegrityError, match="not a continual state"):
        ContinualState.load(tmp_path / "other.safetensors")
