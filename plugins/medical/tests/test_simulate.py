"""The simulator: real CT headers, scan parameters in their ranges, anatomy and nodules where they belong."""

from __future__ import annotations

import numpy as np
import pydicom

from seek_medical.phantom import LUNG_HU, random_thorax, sample_diameter
from seek_medical.simulate import random_scan


def test_written_files_carry_full_ct_headers(study):
    _simulated, _, files = study
    ds = pydicom.dcmread(files[0])
    for key in (
        "PatientID",
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPInstanceUID",
        "FrameOfReferenceUID",
        "ImagePositionPatient",
        "ImageOrientationPatient",
        "PixelSpacing",
        "SliceThickness",
        "RescaleIntercept",
        "RescaleSlope",
        "WindowCenter",
        "WindowWidth",
        "ConvolutionKernel",
        "KVP",
    ):
        assert key in ds, key
    assert ds.Modality == "CT" and ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian


def test_scan_parameters_cover_clinical_ranges():
    rng = np.random.default_rng(0)
    scans = [random_scan(rng, 160, 48) for _ in range(200)]
    assert min(s.pixel_spacing for s in scans) >= 0.6 and max(s.pixel_spacing for s in scans) <= 0.9
    assert {s.thickness for s in scans} >= {0.625, 1.0, 2.5, 5.0}
    assert {s.kernel for s in scans} == {"smooth", "sharp"}
    assert {s.instance_order for s in scans} == {"ascending", "descending"}


def test_lungs_are_near_minus_850_hu_and_nodules_sit_in_them(study):
    simulated, _, _ = study
    hu, labels = simulated.hu, simulated.labels
    assert abs(np.median(hu[(hu > -950) & (hu < -700)]) - LUNG_HU) < 40
    for index, nodule in enumerate(simulated.thorax.nodules, start=1):
        assert (labels == index).sum() > 0
        depth = simulated.thorax.lung_depth(np.asarray(nodule.centre))
        assert depth > -nodule.diameter / 2


def test_nodule_sizes_types_and_attachments_are_mixed():
    rng = np.random.default_rng(1)
    sizes = np.array([sample_diameter(rng, 2.0, 30.0) for _ in range(2000)])
    assert 0.3 < ((sizes >= 3) & (sizes < 5)).mean() < 0.5 and (sizes < 3).mean() > 0.1 and sizes.max() > 20
    kinds, attachments = set(), set()
    for seed in range(12):
        thorax = random_thorax(np.random.default_rng(seed), 200, 60)
        kinds |= {n.kind for n in thorax.nodules}
        attachments |= {n.attachment for n in thorax.nodules}
    assert kinds == {"solid", "part-solid", "ground-glass"}
    assert attachments == {"isolated", "juxta-pleural", "juxta-vascular"}
