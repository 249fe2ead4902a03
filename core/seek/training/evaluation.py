"""Running a model over a whole dataset in order: outputs, targets and the mean loss."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from seek.training.data import loader, sequential_batches, to_device

if TYPE_CHECKING:
    import torch


def forward_all(
    model: torch.nn.Module,
    dataset: Any,
    loss_fn: Callable[[Any, dict[str, Any]], Any] | None,
    autocast: Callable[[], contextlib.AbstractContextManager[Any]],
    device: torch.device,
    batch_size: int,
    num_workers: int,
) -> tuple[torch.Tensor, torch.Tensor | None, float | None]:
    """Outputs (float32, CPU) in dataset order, the targets when every sample has a ``y``, and the mean loss."""
    import torch

    was_training = model.training
    model.eval()
    outputs, targets, loss_sum, count = [], [], 0.0, 0
    batches = sequential_batches(len(dataset), batch_size)
    try:
        with torch.no_grad():
            for raw in loader(dataset, batches, num_workers, 0, device.type == "cuda"):
                batch = to_device(raw, device)
                with autocast():
                    out = model(batch["x"], mask=batch.get("mask"))
                    if loss_fn is not None and "y" in batch:
                        loss_sum += float(loss_fn(out, batch)) * len(batch["x"])
                        count += len(batch["x"])
                outputs.append(out.float().cpu())
                if "y" in batch:
                    targets.append(batch["y"].cpu())
    finally:
        model.train(was_training)
    target = torch.cat(targets) if len(targets) == len(outputs) else None
    return torch.cat(outputs), target, (loss_sum / count if count else None)
