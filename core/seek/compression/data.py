"""What an app hands ``seek compress``: the model's role, its data splits and its quality metrics."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

MetricFn = Callable[[Any, Any], dict[str, float]]


@dataclass(frozen=True)
class CompressionData:
    """The splits a run was trained and tested on, rebuilt from its folder, and how to score outputs.

    ``train``/``val``/``test`` are dicts of equally long tensors with ``x``, ``y`` and optionally
    ``mask`` (the Trainer's format); ``metrics(outputs, y)`` returns the app's quality metrics for the
    model's raw outputs on ``test``; ``primary`` names the one the report's quality ratio uses.
    """

    role: str
    train: Mapping[str, Any]
    val: Mapping[str, Any]
    test: Mapping[str, Any]
    metrics: MetricFn
    primary: str
    direction: Literal["maximize", "minimize"] = "maximize"

    def inputs(self, split: str = "test") -> tuple[Any, Any]:
        """(x, mask or None) of a split."""
        data = {"train": self.train, "val": self.val, "test": self.test}[split]
        return data["x"], data.get("mask")
