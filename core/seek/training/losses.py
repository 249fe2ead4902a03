"""Default losses and validation metrics, chosen from the model's head."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from seek.errors import ConfigError, DataError

if TYPE_CHECKING:
    import torch

LossFn = Callable[[Any, dict[str, Any]], Any]
HEADS = ("classification", "regression", "token")


def model_head(model: Any) -> str | None:
    """The head named in ``model.config.head`` (Seek models), else None."""
    config = getattr(model, "config", None)
    head = getattr(config, "head", None)
    if head is None and isinstance(config, dict):
        head = config.get("head")
    return head


def default_loss(head: str | None) -> LossFn:
    """Cross-entropy for classification and token heads, MSE for regression."""
    if head not in HEADS:
        raise ConfigError(
            f"Trainer(loss_fn=None): cannot pick a default loss for head {head!r}; "
            f"pass loss_fn=callable(outputs, batch) or use a model whose config.head is one of {', '.join(HEADS)}"
        )
    return {"classification": classification_loss, "regression": regression_loss, "token": token_loss}[head]


def _target(batch: dict[str, Any]) -> torch.Tensor:
    if "y" not in batch:
        raise DataError(f"training data: samples need a 'y' field for the loss (got {', '.join(sorted(batch))})")
    return batch["y"]


def classification_loss(outputs: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
    """Mean cross-entropy of (B, C) logits against integer labels (B,)."""
    import torch.nn.functional as F

    return F.cross_entropy(outputs.float(), _target(batch).long().reshape(-1))


def regression_loss(outputs: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
    """Mean squared error; a (B,) target is matched to (B, 1) outputs."""
    import torch.nn.functional as F

    target = _target(batch).float()
    return F.mse_loss(outputs.float(), target.reshape(outputs.shape))


def token_loss(outputs: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
    """Mean cross-entropy over real positions of (B, L, C) logits; padding and label -100 are ignored."""
    import torch.nn.functional as F

    target = _target(batch).long().clone()
    mask = batch.get("mask")
    if mask is not None:
        target[~mask.bool()] = -100
    return F.cross_entropy(outputs.float().reshape(-1, outputs.shape[-1]), target.reshape(-1), ignore_index=-100)


def default_metrics(head: str | None, outputs: torch.Tensor, targets: torch.Tensor | None) -> dict[str, float]:
    """Accuracy for classification heads; nothing else by default."""
    if head == "classification" and targets is not None:
        return {"accuracy": float((outputs.argmax(dim=-1) == targets.reshape(-1).long()).float().mean())}
    return {}
