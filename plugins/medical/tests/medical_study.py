"""Helpers shared by the medical tests: small simulated studies and DICOM file edits.

A module of its own (not conftest.py): the core's tests/conftest.py would shadow a `from conftest import`.
"""

from __future__ import annotations

from pathlib import Path

import pydicom

from seek_medical.simulate import ScanParams, SimulatedStudy, simulate_study


def small_study(seed: int = 5, order: str = "descending", nodules: tuple[int, int] = (1, 2)) -> SimulatedStudy:
    """A 64 mm x 64 mm x 15 mm study (80 x 80 x 13 voxels): fast to write and read."""
    scan = ScanParams(
        pixel_spacing=0.8,
        rows=80,
        columns=80,
        thickness=1.25,
        spacing=1.25,
        slices=13,
        kernel="sharp",
        noise_hu=12.0,
        instance_order=order,
    )  # type: ignore[arg-type]
    return simulate_study(seed, fov_mm=64.0, z_extent=15.0, nodules=nodules, diameter_range=(4.0, 8.0), scan=scan)


def by_z(files: list[Path]) -> list[Path]:
    """The files in z order (read from their headers)."""
    return sorted(files, key=lambda f: float(pydicom.dcmread(f, stop_before_pixels=True).ImagePositionPatient[2]))


def rewrite(path: Path, **values: object) -> None:
    """Set header values of one file in place (None deletes the element)."""
    ds = pydicom.dcmread(path)
    for key, value in values.items():
        if value is None:
            delattr(ds, key)
        else:
            setattr(ds, key, value)
    ds.save_as(path)
