"""Augmentation: labels and centres follow flips and rotations; thickness and noise change what they should."""

from __future__ import annotations

import torch

from seek_medical.augment import AugmentConfig, augment_batch, simulate_thickness


def _patch():
    hu = torch.full((1, 16, 16, 16), -850.0)
    labels = torch.zeros((1, 16, 16, 16), dtype=torch.uint8)
    hu[0, 3:6, 9:12, 2:5] = 30.0
    labels[0, 3:6, 9:12, 2:5] = 1
    boxes = torch.zeros(1, 6, 5)
    boxes[0, 0] = torch.tensor([4.0, 10.0, 3.0, 3.0, 1.0])
    return hu, labels, boxes


def test_flips_and_rotations_move_labels_and_centres_together():
    torch.manual_seed(3)
    config = AugmentConfig(
        p_thickness=0, p_kernel=0, noise_hu=(0, 0), intensity_shift_hu=0, intensity_scale=0, p_flip=0.5, rotate_deg=10
    )
    for _ in range(5):
        hu, labels, boxes = augment_batch(*_patch(), 1.0, config)
        centroid = torch.nonzero(labels[0]).float().mean(0)
        assert torch.linalg.norm(centroid - boxes[0, 0, :3]) < 0.8
        assert float(hu[0][labels[0] > 0].mean()) > -200


def test_thicker_slices_blur_along_z_only():
    hu = torch.full((20, 4, 4), -850.0)
    hu[10] = 40.0
    thick = simulate_thickness(hu, 4.0)
    assert float(thick[10, 0, 0]) < 0.0 and float(thick[9:12, 0, 0].min()) > -850
    assert torch.allclose(thick[:, 0, 0], thick[:, 3, 3])


def test_noise_level_is_what_was_asked():
    torch.manual_seed(0)
    config = AugmentConfig(
        p_thickness=0, p_kernel=0, noise_hu=(20, 20), p_flip=0, rotate_deg=0, intensity_shift_hu=0, intensity_scale=0
    )
    hu = torch.zeros((2, 16, 32, 32))
    out, _, _ = augment_batch(hu, torch.zeros_like(hu, dtype=torch.uint8), torch.zeros(2, 6, 5), 1.0, config)
    assert 17 < float(out.std()) < 23
