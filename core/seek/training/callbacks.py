"""Callbacks: how plugins add loss terms (EWC), metrics, timing or pruning to the training loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    import torch

    from seek.training.trainer import FitResult, Trainer


class StopTraining(Exception):
    """Raise from ``on_epoch_end`` to end training after this epoch (history and checkpoint are kept)."""


class Callback:
    """Base class: override the hooks you need; each default does nothing.

    Hooks run on every rank under torchrun, so a loss term stays identical across ranks.
    """

    def on_train_start(self, trainer: Trainer) -> None:
        """Called once when ``fit`` starts (also when it resumes from a checkpoint)."""

    def on_batch_loss(self, trainer: Trainer, batch: dict[str, Any], loss: torch.Tensor) -> torch.Tensor:
        """Return the loss of one micro-batch, possibly with a term added (e.g. an EWC or L2 penalty)."""
        return loss

    def on_step_end(self, trainer: Trainer, step: int, logs: Mapping[str, float]) -> None:
        """Called after every optimiser step with ``logs`` = {"loss", "lr", "grad_norm"} (``step`` counts from 1).

        The values are read from the device when accessed: a callback that reads one every step makes
        the loop wait for the device each step; reading every N steps (or not at all) keeps it async.
        """

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None:
        """Called after validation of epoch ``epoch`` (from 1); may add keys to ``metrics`` or raise to stop.

        Raising :class:`StopTraining` ends training cleanly; any other exception (e.g. ``optuna.TrialPruned``)
        propagates out of ``fit``.
        """

    def on_train_end(self, trainer: Trainer, result: FitResult) -> None:
        """Called once when ``fit`` finishes normally or by early stopping."""
