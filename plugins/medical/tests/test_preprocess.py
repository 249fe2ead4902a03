"""Preprocessing: isotropic resampling keeps the patient frame, the lung mask finds the lungs, balanced patches."""

from __future__ import annotations

import numpy as np
import torch

from seek_medical.dicom import read_series
from seek_medical.preprocess import TrainingVolume, crop, lung_mask, normalise, resample_isotropic, sample_centres


def test_isotropic_resampling_keeps_origin_direction_and_nodule_position(study):
    simulated, folder, _ = study
    source = read_series(folder)
    iso, labels = resample_isotropic(source, 1.0, simulated.labels)
    assert iso.spacing == (1.0, 1.0, 1.0) and iso.origin == source.origin
    nodule = simulated.ground_truth()["nodules"][0]
    i, j, k = np.round(iso.world_to_index(nodule["centre"])).astype(int)
    assert labels[k, j, i] == nodule["label"]
    assert iso.sop_uids == source.sop_uids


def test_lung_mask_holds_the_lungs_and_not_the_outside_air(study):
    simulated, folder, _ = study
    iso, labels = resample_isotropic(read_series(folder), 1.0, simulated.labels)
    lungs = lung_mask(iso.hu, 1.0, close_mm=4.0)
    assert lungs.sum() > 0.05 * lungs.size
    assert not lungs[:, 0, :].any() and not lungs[:, :, 0].any()  # outside the body
    assert lungs[labels > 0].mean() > 0.9  # closing keeps the nodules inside


def test_normalise_maps_air_and_soft_tissue():
    values = normalise(np.array([-1000.0, -300.0, 600.0, 3000.0]))
    assert np.allclose(values, [-700 / 900, 0.0, 1.0, 1.0])


def test_patch_centres_are_balanced_between_nodules_and_hard_negatives():
    torch.manual_seed(0)
    hu = torch.zeros((40, 40, 40))
    volume = TrainingVolume(
        hu, torch.zeros_like(hu), np.array([[20.0, 20.0, 20.0, 4.0]]), hard=torch.tensor([[5, 5, 5]])
    )
    centres = sample_centres(volume, 400, 16, nodule_share=0.5, hard_share=0.3)
    near = (centres - 20).abs().max(dim=1).values <= 4
    hard = (centres == 5).all(dim=1)
    assert 0.4 < near.float().mean() < 0.62 and 0.22 < hard.float().mean() < 0.38


def test_crop_pads_outside_the_volume():
    volume = torch.arange(27, dtype=torch.float32).reshape(3, 3, 3)
    patch = crop(volume, torch.tensor([0, 0, 0]), 4, -1.0)
    assert patch.shape == (4, 4, 4) and patch[0, 0, 0] == -1.0 and patch[2, 2, 2] == 0.0
