"""On-the-fly augmentation of training patches, in torch on the training device.

Scan parameters are simulated on the isotropic patch: slice thickness by averaging along z over the
slab and resampling back from slab-spaced samples (partial volume and lost z detail, as a 1-5 mm
reconstruction shows), reconstruction kernel (smooth blur or sharp edge enhancement in plane), noise
level (dose, correlated like CT noise); then flips, small rotations about z and intensity shifts.
Labels and nodule centres follow every geometric change. Randomness comes from torch's global
generator, which the trainer seeds and checkpoints, so a resumed run draws the same augmentations.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field

from seek.app import AppConfig


class AugmentConfig(AppConfig):
    """What the training patches go through (each with its probability)."""

    enabled: bool = Field(True, description="Augment training patches on the fly.")
    thickness_mm: tuple[float, float] = Field((1.0, 5.0), description="Simulated slice thickness range (mm).")
    p_thickness: float = Field(0.7, ge=0, le=1, description="Probability of a simulated thicker slice.")
    p_kernel: float = Field(0.7, ge=0, le=1, description="Probability of a simulated smooth or sharp kernel.")
    noise_hu: tuple[float, float] = Field((0.0, 35.0), description="Added noise standard deviation range (HU).")
    p_flip: float = Field(0.5, ge=0, le=1, description="Probability of a flip along each axis.")
    rotate_deg: float = Field(10.0, ge=0, le=45, description="Largest rotation about the z axis (degrees).")
    intensity_shift_hu: float = Field(30.0, ge=0, le=200, description="Largest HU offset added.")
    intensity_scale: float = Field(0.05, ge=0, le=0.5, description="Largest relative HU scale change.")


def augment_batch(hu: Any, labels: Any, boxes: Any, spacing_mm: float, config: AugmentConfig) -> tuple[Any, Any, Any]:
    """Augment a batch: ``hu`` (B, D, H, W) in HU, ``labels`` (B, D, H, W), ``boxes`` (B, K, 5) as (k, j, i, d, ok)."""
    import torch

    if not config.enabled:
        return hu, labels, boxes
    hu, labels, boxes = hu.float().clone(), labels.clone(), boxes.clone()
    for b in range(hu.shape[0]):
        hu[b], labels[b], boxes[b] = _flip(hu[b], labels[b], boxes[b], config.p_flip)
    if config.rotate_deg > 0:
        hu, labels, boxes = _rotate(hu, labels, boxes, config.rotate_deg)
    for b in range(hu.shape[0]):
        if float(torch.rand(())) < config.p_thickness:
            low, high = config.thickness_mm
            thickness = low + float(torch.rand(())) * (high - low)
            hu[b] = simulate_thickness(hu[b], thickness / spacing_mm)
        if float(torch.rand(())) < config.p_kernel:
            if float(torch.rand(())) < 0.5:
                hu[b] = blur_in_plane(hu[b], (0.3 + 0.7 * float(torch.rand(()))) / spacing_mm)
            else:
                amount = 0.3 + 0.7 * float(torch.rand(()))
                hu[b] = hu[b] + amount * (hu[b] - blur_in_plane(hu[b], 1.0 / spacing_mm))
    low, high = config.noise_hu
    sigma = low + torch.rand(hu.shape[0], 1, 1, 1, device=hu.device) * (high - low)
    noise = blur_in_plane(torch.randn_like(hu).flatten(0, 1), 0.6 / spacing_mm).view_as(hu)
    hu = hu + noise / noise.std().clamp(min=1e-6) * sigma
    shift = (torch.rand(hu.shape[0], 1, 1, 1, device=hu.device) * 2 - 1) * config.intensity_shift_hu
    scale = 1 + (torch.rand(hu.shape[0], 1, 1, 1, device=hu.device) * 2 - 1) * config.intensity_scale
    return hu * scale + shift, labels, boxes


def _flip(hu: Any, labels: Any, boxes: Any, p: float) -> tuple[Any, Any, Any]:
    import torch

    for axis in range(3):
        if float(torch.rand(())) < p:
            hu, labels = hu.flip(axis), labels.flip(axis)
            valid = boxes[:, 4] > 0
            boxes[valid, axis] = hu.shape[axis] - 1 - boxes[valid, axis]
    return hu, labels, boxes


def _rotate(hu: Any, labels: Any, boxes: Any, max_deg: float) -> tuple[Any, Any, Any]:
    """Rotate each patch about its z axis by up to ``max_deg``; nearest-neighbour labels, centres moved alike."""
    import torch
    import torch.nn.functional as F

    batch, depth, height, width = hu.shape
    angles = (torch.rand(batch, device=hu.device) * 2 - 1) * math.radians(max_deg)
    cos, sin = torch.cos(angles), torch.sin(angles)
    theta = torch.zeros(batch, 3, 4, device=hu.device)
    # affine_grid's (x, y, z) map output to input coordinates, normalised to [-1, 1]
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
    theta[:, 2, 2] = 1
    grid = F.affine_grid(theta, (batch, 1, depth, height, width), align_corners=True)
    hu = F.grid_sample(hu[:, None], grid, mode="bilinear", padding_mode="border", align_corners=True)[:, 0]
    labels = F.grid_sample(labels[:, None].float(), grid, mode="nearest", align_corners=True)[:, 0].to(labels.dtype)
    # input point p maps to output q with p = R q  =>  q = R^T p (in normalised coordinates)
    half = torch.tensor([(width - 1) / 2, (height - 1) / 2], device=hu.device)
    xy = (boxes[..., [2, 1]] - half) / half
    x = cos[:, None] * xy[..., 0] + sin[:, None] * xy[..., 1]
    y = -sin[:, None] * xy[..., 0] + cos[:, None] * xy[..., 1]
    moved = boxes.clone()
    moved[..., 2], moved[..., 1] = x * half[0] + half[0], y * half[1] + half[1]
    moved[..., :3] = torch.where(boxes[..., 4:5] > 0, moved[..., :3], boxes[..., :3])
    return hu, labels, moved


def simulate_thickness(hu: Any, slab: float) -> Any:
    """Average a (D, H, W) volume over a slab of ``slab`` voxels along z, sample every ``slab`` voxels and
    interpolate back linearly: what reconstructing thicker slices and resampling to isotropic does."""
    import torch
    import torch.nn.functional as F

    if slab <= 1.05:
        return hu
    depth = hu.shape[0]
    half = slab / 2
    reach = math.ceil(half)
    t = torch.arange(-reach, reach + 1, dtype=torch.float32, device=hu.device)
    weights = torch.clamp(half + 0.5 - t.abs(), 0, 1)
    weights = weights / weights.sum()
    column = hu.permute(1, 2, 0).reshape(-1, 1, depth)
    smooth = F.conv1d(F.pad(column, (reach, reach), mode="replicate"), weights.view(1, 1, -1))
    offset = float(torch.rand(())) * slab
    samples = torch.arange(offset, depth - 1 + 1e-6, slab, device=hu.device)
    if len(samples) < 2:
        return smooth.reshape(hu.shape[1], hu.shape[2], depth).permute(2, 0, 1)
    index = samples.floor().long().clamp(max=depth - 2)
    frac = samples - index
    sampled = smooth[..., index] * (1 - frac) + smooth[..., index + 1] * frac
    z = torch.arange(depth, dtype=torch.float32, device=hu.device)
    position = ((z - samples[0]) / slab).clamp(0, len(samples) - 1)
    low = position.floor().long().clamp(max=len(samples) - 2)
    w = position - low
    back = sampled[..., low] * (1 - w) + sampled[..., low + 1] * w
    return back.reshape(hu.shape[1], hu.shape[2], depth).permute(2, 0, 1)


def blur_in_plane(volume: Any, sigma_px: float) -> Any:
    """Separable Gaussian blur of a (D, H, W) tensor in the axial plane (sigma in voxels)."""
    from seek_medical.simulate import gaussian_2d

    return gaussian_2d(volume, sigma_px)
