"""Experience replay: a small reservoir of past training samples, replayed as an extra loss term each batch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from seek.training.callbacks import Callback

if TYPE_CHECKING:
    import torch

    from seek.continual.state import ContinualState
    from seek.training.trainer import Trainer


def reservoir_add(state: ContinualState, data: Mapping[str, torch.Tensor], capacity: int, seed: int) -> None:
    """Offer every sample of ``data`` to the buffer (reservoir sampling: each sample seen is kept with p=cap/seen)."""
    import torch

    n = len(data["x"])
    generator = torch.Generator().manual_seed(seed * 7919 + state.replay_seen)
    buffer = {key: value.clone() for key, value in state.replay.items()}
    size = len(buffer["x"]) if buffer else 0
    free = max(0, capacity - size)
    first = min(free, n)
    if first:
        head = {key: value[:first].detach().cpu() for key, value in data.items()}
        buffer = {key: torch.cat([buffer[key], head[key]]) if buffer else head[key] for key in head}
    seen = state.replay_seen + first
    for i in range(first, n):
        seen += 1
        slot = int(torch.randint(0, seen, (1,), generator=generator))
        if slot < capacity:
            for key in buffer:
                buffer[key][slot] = data[key][i].detach().cpu()
    state.replay, state.replay_seen = buffer, seen


class ReplayLoss(Callback):
    """Adds ``weight * loss(model(replayed batch))`` to every micro-batch loss, drawn from the state's buffer.

    The draw depends only on ``seed`` and the trainer's step, so a resumed fit replays the same samples.
    """

    def __init__(
        self,
        state: ContinualState,
        loss_fn: Callable[[Any, dict[str, Any]], torch.Tensor],
        batch_size: int = 32,
        weight: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.state = state
        self.loss_fn = loss_fn
        self.batch_size = batch_size
        self.weight = weight
        self.seed = seed
        self._buffer: dict[str, torch.Tensor] = {}
        self._calls = 0

    def on_train_start(self, trainer: Trainer) -> None:
        """Move the buffer to the trainer's device."""
        self._buffer = {key: value.to(trainer.device) for key, value in self.state.replay.items()}

    def on_batch_loss(self, trainer: Trainer, batch: dict[str, Any], loss: torch.Tensor) -> torch.Tensor:
        """Loss of the new batch plus the weighted loss of a replayed one."""
        import torch

        if not self._buffer:
            return loss
        size = len(self._buffer["x"])
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + trainer.state.global_step)
        take = torch.randint(0, size, (min(self.batch_size, size),), generator=generator).to(trainer.device)
        replayed = {key: value[take] for key, value in self._buffer.items()}
        outputs = trainer.wrapped(replayed["x"], mask=replayed.get("mask"))
        return loss + self.weight * self.loss_fn(outputs, replayed)
