"""Preprocessing: isotropic resampling (SimpleITK), lung segmentation, HU normalisation, balanced patch sampling."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seek_medical.volume import Volume

#: HU window the network sees: air to bone, mapped to about [-1, 1].
HU_LOW, HU_HIGH, HU_CENTRE, HU_SCALE = -1200.0, 600.0, -300.0, 900.0


def resample_isotropic(volume: Volume, spacing_mm: float, labels: np.ndarray | None = None) -> tuple[Volume, Any]:
    """Resample to ``spacing_mm`` in every axis (linear for HU, nearest for labels), same origin and direction."""
    import SimpleITK as sitk

    image = volume.to_sitk()
    size = [
        max(1, math.floor((n - 1) * s / spacing_mm) + 1)
        for n, s in zip(image.GetSize(), image.GetSpacing(), strict=False)
    ]
    resampler = sitk.ResampleImageFilter()
    resampler.SetOutputSpacing((spacing_mm,) * 3)
    resampler.SetSize(size)
    resampler.SetOutputOrigin(image.GetOrigin())
    resampler.SetOutputDirection(image.GetDirection())
    resampler.SetInterpolator(sitk.sitkLinear)
    resampler.SetDefaultPixelValue(-1024)
    resampler.SetOutputPixelType(sitk.sitkFloat32)
    iso = Volume.from_sitk(resampler.Execute(image), like=volume)
    resampled_labels = None
    if labels is not None:
        label_image = sitk.GetImageFromArray(labels.astype(np.uint8))
        label_image.CopyInformation(image)
        resampler.SetInterpolator(sitk.sitkNearestNeighbor)
        resampler.SetDefaultPixelValue(0)
        resampler.SetOutputPixelType(sitk.sitkUInt8)
        resampled_labels = sitk.GetArrayFromImage(resampler.Execute(label_image))
    return iso, resampled_labels


def lung_mask(hu: np.ndarray, spacing_mm: float, close_mm: float = 8.0) -> np.ndarray:
    """Lungs: air-like voxels (< -400 HU) not connected to the outside, two largest parts, closed to hold
    juxta-pleural nodules and vessels (morphological closing of ``close_mm``), holes filled."""
    import SimpleITK as sitk

    air = sitk.GetImageFromArray((hu < -400).astype(np.uint8))
    components = sitk.GetArrayFromImage(sitk.ConnectedComponent(air, True))
    border = np.unique(
        np.concatenate(
            [
                components[:, 0].ravel(),
                components[:, -1].ravel(),
                components[:, :, 0].ravel(),
                components[:, :, -1].ravel(),
            ]
        )
    )
    components[np.isin(components, border)] = 0
    counts = np.bincount(components.ravel())
    counts[0] = 0
    minimum = 2000.0 / spacing_mm**3  # 2 ml: smaller air pockets are bowel gas or noise
    keep = [label for label in np.argsort(counts)[::-1][:2] if counts[label] >= minimum]
    mask = np.isin(components, keep).astype(np.uint8)
    if not keep:
        return mask.astype(bool)
    image = sitk.GetImageFromArray(mask)
    radius = max(1, round(close_mm / spacing_mm))
    image = sitk.BinaryMorphologicalClosing(image, [radius] * 3, sitk.sitkBall)
    image = sitk.BinaryFillhole(image)
    return sitk.GetArrayFromImage(image).astype(bool)


def normalise(hu: Any) -> Any:
    """HU clipped to [-1200, 600] and mapped to about [-1, 1] (numpy or torch)."""
    if isinstance(hu, np.ndarray):
        return ((np.clip(hu, HU_LOW, HU_HIGH) - HU_CENTRE) / HU_SCALE).astype(np.float32)
    return (hu.clamp(HU_LOW, HU_HIGH) - HU_CENTRE) / HU_SCALE


@dataclass
class TrainingVolume:
    """One isotropic training volume: HU (D, H, W) tensor, labels, nodules as (k, j, i, diameter voxels)."""

    hu: Any
    labels: Any
    nodules: np.ndarray
    hard: Any = field(default=None, repr=False)


def hard_negative_points(hu: Any, spacing_mm: float, limit: int = 4000) -> Any:
    """Voxels that look like small nodules to a naive detector: dense (> -300 HU) inside lung-dark
    surroundings (mean over 9 mm below -500 HU) — vessels, airway walls, the pleura. (N, 3) long tensor."""
    import torch
    import torch.nn.functional as F

    size = max(3, round(9.0 / spacing_mm) | 1)
    local = F.avg_pool3d(hu[None, None].float(), size, stride=1, padding=size // 2)[0, 0]
    points = torch.nonzero((hu > -300) & (local < -500))
    if len(points) > limit:
        generator = torch.Generator(device="cpu").manual_seed(int(points.shape[0]))
        points = points[torch.randperm(len(points), generator=generator)[:limit].to(points.device)]
    return points


def sample_centres(volume: TrainingVolume, count: int, patch: int, nodule_share: float, hard_share: float) -> Any:
    """Patch centres (count, 3) balanced between nodules (jittered), hard negatives and anywhere in the volume."""
    import torch

    device = volume.hu.device
    shape = torch.tensor(volume.hu.shape, device=device)
    kind = torch.rand(count, device=device)
    anywhere = (torch.rand(count, 3, device=device) * (shape - 1)).long()
    centres = anywhere
    if len(volume.nodules):
        nodules = torch.as_tensor(volume.nodules[:, :3], dtype=torch.float32, device=device)
        pick = torch.randint(len(nodules), (count,), device=device)
        jitter = (torch.rand(count, 3, device=device) - 0.5) * (patch / 2)
        near = (nodules[pick] + jitter).round().long()
        centres = torch.where((kind < nodule_share)[:, None], near, centres)
    if volume.hard is not None and len(volume.hard):
        pick = torch.randint(len(volume.hard), (count,), device=device)
        hard = volume.hard[pick]
        is_hard = (kind >= nodule_share) & (kind < nodule_share + hard_share)
        centres = torch.where(is_hard[:, None], hard, centres)
    return torch.minimum(torch.clamp(centres, min=0), shape - 1)


def crop(volume: Any, centre: Any, patch: int, fill: float) -> Any:
    """A ``patch``^3 crop of a (D, H, W) tensor around ``centre``, padded with ``fill`` outside."""
    import torch.nn.functional as F

    start = [int(c) - patch // 2 for c in centre.tolist()]
    pads, slices = [], []
    for axis, s in enumerate(start):
        n = volume.shape[axis]
        low, high = max(0, s), min(n, s + patch)
        pads.append((low - s, s + patch - high))
        slices.append(slice(low, high))
    region = volume[slices[0], slices[1], slices[2]]
    if any(p for pair in pads for p in pair):
        flat = [p for pair in reversed(pads) for p in pair]
        region = F.pad(region[None, None].float(), flat, value=fill)[0, 0].to(volume.dtype)
    return region


def nodules_in_patch(nodules: np.ndarray, centre: Any, patch: int, limit: int) -> np.ndarray:
    """Nodules (k, j, i, d) shifted into patch coordinates, those whose centre lies in the patch; padded to ``limit``
    rows with a validity column: (limit, 5)."""
    out = np.zeros((limit, 5), dtype=np.float32)
    if not len(nodules):
        return out
    start = np.asarray(centre, dtype=np.float32) - patch // 2
    local = nodules.copy()
    local[:, :3] -= start
    inside = np.all((local[:, :3] >= -0.5) & (local[:, :3] <= patch - 0.5), axis=1)
    chosen = local[inside][:limit]
    out[: len(chosen), :4] = chosen
    out[: len(chosen), 4] = 1.0
    return out
