"""DICOM Segmentation (highdicom) of the findings, referencing the source series: one segment per finding."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from seek.errors import ConfigError, DataError

SEG_EXTRA = "pip install 'seek-medical[seg]'"


def source_masks(detection: Any, source: Any) -> np.ndarray:
    """The findings' masks on the source series grid: (slices, rows, columns, findings) booleans."""
    import SimpleITK as sitk

    iso = detection.iso
    reference = source.to_sitk()
    layers = []
    for mask, box in zip(detection.masks, detection.boxes, strict=True):
        full = np.zeros(iso.shape, dtype=np.uint8)
        full[box] = mask
        image = sitk.GetImageFromArray(full)
        image.SetSpacing(iso.spacing)
        image.SetOrigin(iso.origin)
        image.SetDirection(tuple(np.asarray(iso.direction).flatten()))
        resampled = sitk.Resample(image, reference, sitk.Transform(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
        layers.append(sitk.GetArrayFromImage(resampled).astype(bool))
    return np.stack(layers, axis=-1) if layers else np.zeros((*source.shape, 0), dtype=bool)


def write_seg(study: str | os.PathLike[str], source: Any, detection: Any, path: str | os.PathLike[str]) -> Path:
    """Write the findings of ``detection`` as a binary DICOM SEG referencing the slices of ``source``."""
    try:
        import highdicom as hd
        from pydicom.sr.codedict import codes
    except ImportError:
        raise ConfigError(f"--seg needs highdicom: {SEG_EXTRA}") from None
    from seek_medical import __version__
    from seek_medical.dicom import list_series

    if any("resampled along z" in note for note in source.notes):
        raise DataError(f"{study}: slices are unevenly spaced; a SEG needs the source grid (resampled here)")
    if not detection.findings:
        raise DataError(f"{study}: no findings to write as a segmentation")
    summary = next((s for s in list_series(study) if s.uid == source.series_uid), None)
    if summary is None:
        raise DataError(f"{study}: series {source.series_uid} not found again")
    by_uid = {h.sop_uid: h.dataset for h in summary.headers}
    images = [by_uid[uid] for uid in source.sop_uids]
    masks = source_masks(detection, source)
    algorithm = hd.AlgorithmIdentificationSequence(
        name="seek-medical nodule detector", version=__version__, family=codes.cid7162.ArtificialIntelligence
    )
    segments = [
        hd.seg.SegmentDescription(
            segment_number=index + 1,
            segment_label=f"nodule {index + 1} ({finding.diameter_mm:.1f} mm, p={finding.probability:.2f})",
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=codes.SCT.Nodule,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
        )
        for index, finding in enumerate(detection.findings)
    ]
    seg = hd.seg.Segmentation(
        source_images=images,
        pixel_array=masks.astype(np.uint8),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=segments,
        series_instance_uid=hd.UID(),
        series_number=900,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="Seek",
        manufacturer_model_name="seek-medical",
        software_versions=__version__,
        device_serial_number="0",
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    seg.save_as(out)
    return out
