"""The EWC penalty ``lambda/2 * sum_t sum_i F_t,i (theta_i - theta*_t,i)^2`` and the trainer callback adding it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seek.training.callbacks import Callback

if TYPE_CHECKING:
    import torch

    from seek.continual.state import ContinualState, Tensors
    from seek.training.trainer import Trainer


def ewc_penalty(model: torch.nn.Module, fisher: list[Tensors], anchors: list[Tensors], lam: float) -> torch.Tensor:
    """The quadratic penalty of ``model``'s parameters around each anchor, weighted by its Fisher diagonal.

    Zero at the anchor, quadratic away from it; parameters missing from a term are not penalised.
    """
    import torch

    params = dict(model.named_parameters())
    device = next(iter(params.values())).device
    total = torch.zeros((), device=device)
    for term_fisher, term_anchor in zip(fisher, anchors, strict=True):
        for name, weight in term_fisher.items():
            if name in params:
                diff = params[name] - term_anchor[name]
                total = total + (weight * diff.pow(2)).sum()
    return 0.5 * lam * total


class EWCPenalty(Callback):
    """Adds ``ewc_penalty`` to every micro-batch loss (works for any app's model trained by the core Trainer)."""

    def __init__(self, state: ContinualState, lam: float) -> None:
        self.state = state
        self.lam = float(lam)
        self._fisher: list[Tensors] = []
        self._anchors: list[Tensors] = []

    def on_train_start(self, trainer: Trainer) -> None:
        """Move the Fisher and anchors to the trainer's device once."""
        device = trainer.device
        self._fisher = [{k: v.to(device) for k, v in f.items()} for f in self.state.fisher]
        self._anchors = [{k: v.to(device) for k, v in a.items()} for a in self.state.anchors]

    def on_batch_loss(self, trainer: Trainer, batch: dict[str, Any], loss: torch.Tensor) -> torch.Tensor:
        """Loss plus the EWC penalty (nothing added before the first consolidation or with lambda 0)."""
        if not self._fisher or self.lam == 0.0:
            return loss
        return loss + ewc_penalty(trainer.model, self._fisher, self._anchors, self.lam)
