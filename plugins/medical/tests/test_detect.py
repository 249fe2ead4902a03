"""Findings map back to patient millimetres and to the source slice; sliding windows cover the volume."""

from __future__ import annotations

import numpy as np
import pydicom
import torch

from seek_medical.detect import _finding, candidates, measure, sliding_window
from seek_medical.dicom import read_series
from seek_medical.model import HEAT, OFFSET, SIZE, build
from seek_medical.preprocess import resample_isotropic


def test_a_findings_sop_instance_uid_is_that_of_the_slice_holding_the_nodule_centre(study):
    simulated, folder, files = study
    source = read_series(folder)
    iso, _ = resample_isotropic(source, 1.0)
    nodule = simulated.ground_truth()["nodules"][0]
    kji = iso.world_to_index(nodule["centre"])[::-1]
    finding = _finding(source, iso, kji, {"d": 5.0, "p": 0.9}, np.zeros((3, 3, 3), bool), 1.0)
    headers = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
    central = min(headers, key=lambda ds: abs(float(ds.ImagePositionPatient[2]) - nodule["centre"][2]))
    assert finding.sop_instance_uid == central.SOPInstanceUID
    assert np.allclose(finding.centre_mm, nodule["centre"], atol=1e-6)
    assert np.allclose(finding.centre_voxel, nodule["centre_voxel"], atol=1e-6)


def test_candidates_decode_peak_offset_and_size_into_input_voxels():
    maps = np.full((6, 8, 8, 8), -8.0, dtype=np.float32)
    maps[HEAT, 3, 4, 5] = 4.0
    maps[OFFSET, 3, 4, 5] = [0.25, -0.5, 0.0]
    maps[SIZE] = np.log(6.0)
    found = candidates(maps, threshold=0.5, limit=5)
    assert len(found) == 1
    # output cell c spans input voxels 2c and 2c+1: centre (c + offset + 0.5) * 2 - 0.5
    assert np.allclose(found[0]["kji"], [(3.25 + 0.5) * 2 - 0.5, (3.5 + 0.5) * 2 - 0.5, (5 + 0.5) * 2 - 0.5])
    assert abs(found[0]["d"] - 6.0) < 1e-4


def test_sliding_window_with_overlap_equals_one_pass_of_a_translation_invariant_model():
    class Local(torch.nn.Module):
        multiple = 4

        def forward(self, x, mask=None):
            pooled = torch.nn.functional.avg_pool3d(x, 2)
            return pooled.repeat(1, 6, 1, 1, 1)

    volume = np.random.default_rng(0).normal(size=(24, 40, 36)).astype(np.float32)
    maps = sliding_window(Local(), volume, window=16, overlap=0.5)
    direct = torch.nn.functional.avg_pool3d(torch.from_numpy(volume)[None, None], 2)[0, 0].numpy()
    assert maps.shape == (6, 12, 20, 18)
    assert np.allclose(maps[0], direct, atol=1e-5)


def test_measure_gives_longest_axis_and_volume_in_mm():
    mask = np.zeros((20, 20, 20), bool)
    mask[5:9, 5:7, 5:15] = True
    longest, volume = measure(mask, 0.5)
    assert abs(longest - (np.sqrt(9**2 + 1 + 3**2) + 1) * 0.5) < 1e-6
    assert volume == mask.sum() * 0.125


def test_untrained_network_runs_on_a_whole_small_volume():
    model = build(width=4, levels=2)
    maps = sliding_window(model, np.zeros((20, 30, 30), np.float32), window=16, overlap=0.25)
    assert maps.shape == (6, 10, 15, 15) and np.isfinite(maps).all()
