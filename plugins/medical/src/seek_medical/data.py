"""Training data: isotropic phantom volumes and the patch dataset the core Trainer draws batches from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from seek_medical.augment import AugmentConfig, augment_batch
from seek_medical.phantom import random_thorax
from seek_medical.preprocess import (
    TrainingVolume,
    crop,
    hard_negative_points,
    nodules_in_patch,
    normalise,
    sample_centres,
)
from seek_medical.simulate import training_volume

MAX_BOXES = 6


def training_volumes(
    seeds: Sequence[int],
    fov_mm: float | tuple[float, float],
    z_extent: float,
    spacing_mm: float,
    nodules: tuple[int, int],
    diameter_range: tuple[float, float],
    device: str = "cpu",
    progress: Any = None,
) -> list[TrainingVolume]:
    """Phantoms rendered on the model's isotropic grid, with nodules as (k, j, i, diameter) in voxels; a
    (low, high) ``fov_mm`` draws each study's field of view from that range."""
    import torch

    volumes = []
    iterator = progress(seeds, total=len(seeds), description="simulating") if progress else seeds
    for seed in iterator:
        rng = np.random.default_rng(int(seed))
        fov = float(rng.uniform(*fov_mm)) if isinstance(fov_mm, (tuple, list)) else float(fov_mm)
        thorax = random_thorax(rng, fov, z_extent, 0.0, nodules, diameter_range)
        hu, labels = training_volume(thorax, fov, spacing_mm, device)
        size, slices = hu.shape[2], hu.shape[0]
        x0 = -(size - 1) / 2 * spacing_mm
        z0 = thorax.z_centre - (slices - 1) / 2 * spacing_mm
        rows = [
            [
                (n.centre[2] - z0) / spacing_mm,
                (n.centre[1] - x0) / spacing_mm,
                (n.centre[0] - x0) / spacing_mm,
                n.diameter / spacing_mm,
            ]
            for n in thorax.nodules
        ]
        table = np.asarray(rows, dtype=np.float32).reshape(-1, 4)
        hu16 = torch.round(hu).to(torch.int16)
        volumes.append(TrainingVolume(hu16, labels, table, hard_negative_points(hu, spacing_mm)))
    return volumes


class PatchDataset:
    """Patches drawn on the fly from training volumes, balanced between nodules and hard negatives, augmented.

    Item ``i`` is a fresh random patch (torch's global generator, seeded and checkpointed by the
    Trainer): ``{"x": (1, P, P, P) normalised HU, "y": (P, P, P) nodule labels, "boxes": (6, 5)}``.
    ``__getitems__`` builds a whole batch at once on the volumes' device and hands it back on the CPU.
    """

    def __init__(
        self,
        volumes: list[TrainingVolume],
        length: int,
        patch: int,
        spacing_mm: float,
        augment: AugmentConfig,
        nodule_share: float = 0.5,
        hard_share: float = 0.3,
    ) -> None:
        self.volumes = volumes
        self.length = length
        self.patch = patch
        self.spacing_mm = spacing_mm
        self.augment = augment
        self.nodule_share = nodule_share
        self.hard_share = hard_share

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[dict[str, Any]]:
        import torch

        hu, labels, boxes = draw(self.volumes, len(indices), self.patch, self.nodule_share, self.hard_share)
        hu, labels, boxes = augment_batch(hu, labels, boxes, self.spacing_mm, self.augment)
        x = normalise(hu)[:, None].float().cpu()
        labels, boxes = labels.cpu(), boxes.cpu()
        return [{"x": x[b], "y": labels[b], "boxes": boxes[b]} for b in range(len(indices))] if torch else []


def draw(
    volumes: list[TrainingVolume], count: int, patch: int, nodule_share: float, hard_share: float
) -> tuple[Any, Any, Any]:
    """``count`` patches: HU (B, P, P, P) float, labels (B, P, P, P) uint8, boxes (B, 6, 5)."""
    import torch

    which = torch.randint(len(volumes), (count,)).tolist()
    hus, labels, boxes = [], [], []
    for index in which:
        volume = volumes[index]
        centre = sample_centres(volume, 1, patch, nodule_share, hard_share)[0]
        hus.append(crop(volume.hu, centre, patch, -1024))
        labels.append(crop(volume.labels, centre, patch, 0))
        boxes.append(torch.from_numpy(nodules_in_patch(volume.nodules, centre.cpu().numpy(), patch, MAX_BOXES)))
    device = volumes[0].hu.device
    return torch.stack(hus).float(), torch.stack(labels), torch.stack(boxes).to(device)


def fixed_patches(volumes: list[TrainingVolume], count: int, patch: int, seed: int) -> dict[str, Any]:
    """A fixed, unaugmented validation set (its own generator: the same patches every epoch and on resume)."""
    import torch

    state = torch.random.get_rng_state()
    cuda_state = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    torch.manual_seed(seed)
    try:
        hu, labels, boxes = draw(volumes, count, patch, 0.5, 0.3)
    finally:
        torch.random.set_rng_state(state)
        if cuda_state is not None:
            torch.cuda.set_rng_state_all(cuda_state)
    return {"x": normalise(hu)[:, None].float().cpu(), "y": labels.cpu(), "boxes": boxes.cpu()}
