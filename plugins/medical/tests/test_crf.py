"""The dense CRF: it sharpens a blurred probability map to the nodule's HU edge; sigmas are in mm."""

from __future__ import annotations

import numpy as np
import torch

from seek_medical.crf import BilateralGrid, CRFConfig, dense_crf, dice, gaussian_3d
from seek_medical.detect import keep_component


def _blurred_nodule(spacing=(1.0, 1.0, 1.0), n=32, radius_mm=4.5, seed=0):
    rng = np.random.default_rng(seed)
    axes = [np.arange(n) * s for s in spacing]
    z, y, x = np.meshgrid(*axes, indexing="ij")
    centre = np.array([a[n // 2] + 0.3 for a in axes])
    truth = np.sqrt((z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2) <= radius_mm
    hu = np.where(truth, 30.0, -850.0) + rng.normal(0, 20, truth.shape)
    sigmas = [1.5 / s for s in spacing]  # the detector's map: blurred by 1.5 mm
    probability = gaussian_3d(torch.tensor(truth[None].astype(np.float32)), sigmas)[0].numpy()
    return truth, hu, probability, np.array([n // 2] * 3, dtype=float)


def test_crf_mask_beats_the_thresholded_map_on_a_blurred_nodule():
    truth, hu, probability, centre = _blurred_nodule()
    plain = keep_component(probability >= 0.5, centre)
    refined = keep_component(dense_crf(probability, hu, (1.0, 1.0, 1.0), CRFConfig()) > 0.5, centre)
    assert dice(refined, truth) > dice(plain, truth) + 0.1
    assert dice(refined, truth) > 0.9


def test_crf_sigmas_are_millimetres_on_an_anisotropic_grid():
    truth, hu, probability, centre = _blurred_nodule(spacing=(2.0, 1.0, 1.0), n=32)
    refined = keep_component(dense_crf(probability, hu, (2.0, 1.0, 1.0), CRFConfig()) > 0.5, centre)
    assert dice(refined, truth) > dice(keep_component(probability >= 0.5, centre), truth)


def test_bilateral_grid_keeps_a_constant_and_stops_at_edges():
    hu = torch.full((8, 8, 8), -850.0)
    hu[:, :, 4:] = 40.0
    grid = BilateralGrid(hu, (1.0, 1.0, 1.0), 3.0, 30.0)
    ones = torch.ones((1, 8, 8, 8))
    assert torch.allclose(grid.filter(ones), ones, atol=1e-5)
    left = (torch.arange(8) < 4).float().expand(8, 8, 8)[None]
    filtered = grid.filter(left)
    assert float(filtered[0, :, :, 5:].max()) < 0.05 and float(filtered[0, :, :, :3].min()) > 0.95
