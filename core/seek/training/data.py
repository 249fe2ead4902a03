"""Datasets and batch plans: which samples each rank sees at each micro-batch, reproducible from seed+epoch."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from seek.errors import ConfigError, DataError

if TYPE_CHECKING:
    import torch
    from torch.utils.data import Dataset


class TensorDictDataset:
    """A map-style dataset over a dict of equally long tensors: item i is ``{key: tensor[i]}``."""

    def __init__(self, tensors: Mapping[str, torch.Tensor]) -> None:
        lengths = {key: len(value) for key, value in tensors.items()}
        if "x" not in tensors:
            raise DataError(f"training data: no 'x' field (fields: {', '.join(sorted(tensors)) or 'none'})")
        if len(set(lengths.values())) != 1:
            raise DataError(f"training data: fields have different lengths {lengths}")
        self.tensors = dict(tensors)
        self.length = lengths["x"]

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {key: value[index] for key, value in self.tensors.items()}

    def __getitems__(self, indices: list[int]) -> _Batch:
        """A whole batch by one gather per field (the DataLoader's batched fetch): the values ``[i]`` + stack give."""
        import torch

        rows = torch.as_tensor(indices, dtype=torch.long)
        return _Batch({key: value[rows] for key, value in self.tensors.items()})


class _Batch(dict):  # type: ignore[type-arg]
    """A batch already collated by ``TensorDictDataset.__getitems__``."""


def collate(samples: Any) -> Any:
    """The DataLoader's collate: a ``_Batch`` as it is, anything else through torch's default collate."""
    from torch.utils.data import default_collate

    return dict(samples) if isinstance(samples, _Batch) else default_collate(samples)


def as_dataset(data: Any, what: str) -> Any:
    """Accept a map-style dataset (``len`` + ``[i]`` -> dict sample) or a dict of tensors."""
    if isinstance(data, Mapping):
        return TensorDictDataset(data)
    if not hasattr(data, "__len__") or not hasattr(data, "__getitem__"):
        raise ConfigError(
            f"{what}: needs a map-style dataset (__len__ and __getitem__ returning dict samples), "
            f"got {type(data).__name__}"
        )
    if len(data) == 0:
        raise DataError(f"{what}: the dataset is empty")
    return data


@dataclass(frozen=True)
class MicroBatch:
    """One global micro-batch: how many samples it has over all ranks, and this rank's indices."""

    global_size: int
    indices: list[int]


def epoch_plan(n: int, batch_size: int, seed: int, epoch: int, rank: int, world: int) -> list[MicroBatch]:
    """The epoch's micro-batches for ``rank``: a seeded permutation cut into global batches, each split by stride.

    The union over ranks of micro-batch ``i`` is the same global batch a single process would take, so
    DDP trains on exactly the single-process batches. Under DDP a trailing global batch smaller than the
    world size is dropped (every rank must take part in each backward).
    """
    import torch

    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    order = torch.randperm(n, generator=generator).tolist()
    plan = []
    for start in range(0, n, batch_size):
        chunk = order[start : start + batch_size]
        if len(chunk) < world:
            break
        plan.append(MicroBatch(global_size=len(chunk), indices=chunk[rank::world]))
    if not plan:
        raise DataError(f"training data: {n} samples cannot feed {world} ranks")
    return plan


def steps_per_epoch(plan_length: int, accumulation_steps: int) -> int:
    """Optimiser steps in an epoch of ``plan_length`` micro-batches (the last window may be short)."""
    return math.ceil(plan_length / accumulation_steps)


def windows(plan: list[MicroBatch], accumulation_steps: int, first_step: int) -> Iterator[list[MicroBatch]]:
    """The accumulation windows of an epoch, starting at optimiser step ``first_step``."""
    for start in range(first_step * accumulation_steps, len(plan), accumulation_steps):
        yield plan[start : start + accumulation_steps]


def loader(dataset: Dataset, batches: list[list[int]], num_workers: int, seed: int, pin: bool) -> Any:
    """A DataLoader over fixed index batches; its own generator keeps the global RNG untouched."""
    import torch
    from torch.utils.data import DataLoader

    return DataLoader(
        dataset,
        batch_sampler=batches,
        num_workers=num_workers,
        generator=torch.Generator().manual_seed(seed),
        pin_memory=pin,
        collate_fn=collate,
    )


def sequential_batches(n: int, batch_size: int) -> list[list[int]]:
    """Index batches in dataset order, for evaluation and prediction."""
    return [list(range(start, min(n, start + batch_size))) for start in range(0, n, batch_size)]


def to_device(batch: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    """Move every tensor of a collated batch to ``device``."""
    import torch

    return {
        key: value.to(device, non_blocking=True) if isinstance(value, torch.Tensor) else value
        for key, value in batch.items()
    }


def batch_size_of(batch: Mapping[str, Any]) -> int:
    """Number of samples in a collated batch (the length of its ``x``)."""
    if "x" not in batch:
        raise DataError(f"training data: samples need an 'x' field (got {', '.join(sorted(batch))})")
    return len(batch["x"])
