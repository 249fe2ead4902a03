"""Dense 3D conditional random field (Krähenbühl & Koltun's mean field) in plain torch, sigmas in millimetres.

Two labels (background, nodule) with the detector's probability as unary, Potts compatibility and two
Gaussian pairwise kernels over every pair of voxels of a candidate's region:

- a spatial kernel ``exp(-|p_i - p_j|^2 / 2 sigma_s^2)`` (positions in mm), applied exactly as a
  separable convolution whose per-axis sigma in voxels is ``sigma_mm / spacing`` — so an anisotropic
  grid gets the same smoothing in mm as an isotropic one;
- a bilateral kernel ``exp(-|p_i - p_j|^2 / 2 sigma_b^2 - |I_i - I_j|^2 / 2 sigma_hu^2)`` that follows
  HU edges, applied with a bilateral grid (splat to a 4-D lattice in units of the sigmas, blur,
  slice; the same approximation family as the permutohedral lattice, with no compiled extension).

Mean field: ``Q_l ∝ exp(-U_l + Σ_m w_m (k_m ⊛ Q)_l)``, a few iterations. Runs on CPU or GPU.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import Field

from seek.app import AppConfig


class CRFConfig(AppConfig):
    """Dense CRF settings (sigmas in mm and HU)."""

    enabled: bool = Field(True, description="Refine each finding's mask with the dense CRF.")
    iterations: int = Field(5, ge=1, le=50, description="Mean-field iterations.")
    spatial_sigma_mm: float = Field(1.0, gt=0, le=20, description="Spatial (smoothness) kernel sigma, mm.")
    spatial_weight: float = Field(0.3, ge=0, le=20, description="Weight of the spatial kernel.")
    bilateral_sigma_mm: float = Field(1.0, gt=0, le=30, description="Bilateral kernel spatial sigma, mm.")
    bilateral_sigma_hu: float = Field(60.0, gt=0, le=1000, description="Bilateral kernel intensity sigma, HU.")
    bilateral_weight: float = Field(4.0, ge=0, le=50, description="Weight of the bilateral (edge-following) kernel.")
    min_probability: float = Field(
        0.2, ge=0, le=1, description="Candidates below this detection probability keep the thresholded mask."
    )


def dense_crf(
    probability: Any, hu: Any, spacing_mm: tuple[float, float, float], config: CRFConfig, device: str = "cpu"
) -> np.ndarray:
    """Mean-field marginals of the nodule label over a (D, H, W) region; ``spacing_mm`` is (z, y, x)."""
    import torch

    p = torch.as_tensor(np.asarray(probability), dtype=torch.float32, device=device).clamp(1e-4, 1 - 1e-4)
    # outside air..bone the HU differences carry no edge the nodule needs; clipping keeps the lattice small
    image = torch.as_tensor(np.asarray(hu), dtype=torch.float32, device=device).clamp(-1100.0, 600.0)
    unary = -torch.log(torch.stack([1 - p, p]))
    q = torch.softmax(-unary, dim=0)
    grid = BilateralGrid(image, spacing_mm, config.bilateral_sigma_mm, config.bilateral_sigma_hu)
    sigmas = [config.spatial_sigma_mm / s for s in spacing_mm]
    for _ in range(config.iterations):
        message = config.spatial_weight * gaussian_3d(q, sigmas) + config.bilateral_weight * grid.filter(q)
        q = torch.softmax(-unary + message, dim=0)
    return q[1].cpu().numpy()


def gaussian_3d(x: Any, sigmas_vox: list[float]) -> Any:
    """Separable Gaussian filter of (C, D, H, W) with a per-axis sigma in voxels (normalised, replicate edges)."""
    import torch
    import torch.nn.functional as F

    out = x[:, None]
    for axis, sigma in enumerate(sigmas_vox):
        if sigma < 0.05:
            continue
        radius = max(1, math.ceil(3 * sigma))
        t = torch.arange(-radius, radius + 1, dtype=torch.float32, device=x.device)
        kernel = torch.exp(-(t**2) / (2 * sigma**2))
        kernel = kernel / kernel.sum()
        shape = [1, 1, 1, 1, 1]
        shape[2 + axis] = -1
        pad = [0] * 6
        pad[2 * (2 - axis)] = pad[2 * (2 - axis) + 1] = radius
        out = F.conv3d(F.pad(out, pad, mode="replicate"), kernel.view(shape))
    return out[:, 0]


class BilateralGrid:
    """Splat / blur / slice on a 4-D lattice (z, y, x in units of ``sigma_mm``; HU in units of ``sigma_hu``)."""

    def __init__(self, hu: Any, spacing_mm: tuple[float, float, float], sigma_mm: float, sigma_hu: float) -> None:
        import torch

        d, h, w = hu.shape
        axes = [
            torch.arange(n, dtype=torch.float32, device=hu.device) * s / sigma_mm
            for n, s in zip((d, h, w), spacing_mm, strict=False)
        ]
        zz, yy, xx = torch.meshgrid(*axes, indexing="ij")
        features = torch.stack([zz, yy, xx, hu / sigma_hu], dim=-1).reshape(-1, 4)
        features = features - features.min(dim=0).values + 1.0  # one empty cell of padding below
        self.size = [int(v) + 3 for v in features.max(dim=0).values.tolist()]
        base = features.floor().long()
        frac = features - base
        strides = [self.size[1] * self.size[2] * self.size[3], self.size[2] * self.size[3], self.size[3], 1]
        self.index = []
        self.weight = []
        for corner in range(16):
            bits = [(corner >> b) & 1 for b in range(4)]
            idx = sum((base[:, b] + bits[b]) * strides[b] for b in range(4))
            wgt = torch.ones_like(frac[:, 0])
            for b in range(4):
                wgt = wgt * (frac[:, b] if bits[b] else 1 - frac[:, b])
            self.index.append(idx)
            self.weight.append(wgt)
        self.shape = (d, h, w)
        self.cells = math.prod(self.size)
        ones = torch.ones((1, d * h * w), device=hu.device)
        self.norm = self._apply(ones).clamp(min=1e-8)

    def _apply(self, values: Any) -> Any:
        import torch

        channels = values.shape[0]
        lattice = torch.zeros((channels, self.cells), device=values.device)
        for idx, wgt in zip(self.index, self.weight, strict=True):
            lattice.index_add_(1, idx, values * wgt)
        lattice = lattice.view(channels, *self.size)
        for dim in range(1, 5):  # [1, 2, 1] / 4 along each lattice axis
            lattice = 0.5 * lattice + 0.25 * (lattice.roll(1, dims=dim) + lattice.roll(-1, dims=dim))
        lattice = lattice.reshape(channels, -1)
        out = torch.zeros_like(values)
        for idx, wgt in zip(self.index, self.weight, strict=True):
            out += lattice[:, idx] * wgt
        return out

    def filter(self, q: Any) -> Any:
        """Bilateral-filtered (C, D, H, W) label marginals (normalised)."""
        flat = q.reshape(q.shape[0], -1)
        return (self._apply(flat) / self.norm).reshape(q.shape)


def refine_candidate(
    hu: np.ndarray,
    probability: np.ndarray,
    kji: np.ndarray,
    diameter_vox: float,
    spacing_mm: float,
    config: CRFConfig,
    device: str = "cpu",
) -> tuple[np.ndarray, tuple[slice, ...]]:
    """The CRF mask of one candidate in its region box (the component nearest the centre) and that box."""
    from seek_medical.detect import candidate_map, keep_component

    local, box = candidate_map(probability, kji, diameter_vox)
    marginal = dense_crf(local, hu[box], (spacing_mm,) * 3, config, device)
    mask = keep_component(marginal > 0.5, kji - np.array([s.start for s in box]))
    return mask, box


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice coefficient of two boolean masks (1.0 when both are empty)."""
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int(np.logical_and(a, b).sum()) / total
