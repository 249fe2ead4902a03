"""A CT volume with its patient geometry (LPS millimetres) and the source slices it came from.

Index conventions follow SimpleITK: the array is ``hu[k, j, i]`` (slice, row, column); ``spacing``,
``origin`` and the columns of ``direction`` are in (x, y, z) = (column, row, slice) order, so
``world = origin + direction @ (spacing * (i, j, k))`` in DICOM's patient LPS frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Volume:
    """HU voxels (k, j, i) plus spacing/origin/direction, and per-slice SOPInstanceUIDs and positions."""

    hu: np.ndarray
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: np.ndarray = field(default_factory=lambda: np.eye(3))
    #: SOPInstanceUID of each source slice, in the order of ``slice_positions``.
    sop_uids: list[str] = field(default_factory=list)
    #: Each source slice's position projected on the slice normal (mm), ascending.
    slice_positions: list[float] = field(default_factory=list)
    series_uid: str = ""
    study_uid: str = ""
    frame_of_reference_uid: str = ""
    #: Header values that describe the acquisition (thickness, kernel, spacing...), for reports.
    header: dict[str, Any] = field(default_factory=dict)
    #: What was noticed and fixed while reading (uneven spacing resampled, duplicates dropped...).
    notes: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(slices, rows, columns)."""
        k, j, i = self.hu.shape
        return int(k), int(j), int(i)

    def index_to_world(self, ijk: Any) -> np.ndarray:
        """Continuous (i, j, k) voxel index (or an (N, 3) array of them) -> LPS mm."""
        ijk = np.asarray(ijk, dtype=np.float64)
        return np.asarray(self.origin) + (ijk * np.asarray(self.spacing)) @ np.asarray(self.direction).T

    def world_to_index(self, xyz: Any) -> np.ndarray:
        """LPS mm (or an (N, 3) array) -> continuous (i, j, k) voxel index."""
        xyz = np.asarray(xyz, dtype=np.float64)
        local = (xyz - np.asarray(self.origin)) @ np.linalg.inv(np.asarray(self.direction)).T
        return local / np.asarray(self.spacing)

    def sop_uid_at(self, xyz: Any) -> str:
        """SOPInstanceUID of the source slice nearest to the world point ``xyz`` along the slice normal."""
        if not self.sop_uids:
            return ""
        normal = np.asarray(self.direction)[:, 2]
        along = float(np.dot(np.asarray(xyz, dtype=np.float64), normal))
        nearest = int(np.argmin(np.abs(np.asarray(self.slice_positions) - along)))
        return self.sop_uids[nearest]

    def summary_rows(self) -> list[tuple[str, str]]:
        """What ``seek data check`` prints about the series it read."""
        low, high = (float(self.hu.min()), float(self.hu.max())) if self.hu.size else (0.0, 0.0)
        rows = [
            ("series", self.series_uid),
            ("study", self.study_uid),
            ("voxels (slices x rows x columns)", " x ".join(str(n) for n in self.shape)),
            ("spacing x, y, z (mm)", ", ".join(f"{v:.4g}" for v in self.spacing)),
            ("origin (LPS mm)", ", ".join(f"{v:.2f}" for v in self.origin)),
            ("direction", " ".join(f"{v:g}" for v in np.asarray(self.direction).flatten())),
            ("HU range", f"{low:.0f} .. {high:.0f}"),
        ]
        rows += [(key, str(value)) for key, value in self.header.items()]
        rows += [("note", note) for note in self.notes]
        return rows

    def to_sitk(self) -> Any:
        """The volume as a SimpleITK image (same voxels and geometry)."""
        import SimpleITK as sitk

        image = sitk.GetImageFromArray(self.hu)
        image.SetSpacing(tuple(float(s) for s in self.spacing))
        image.SetOrigin(tuple(float(o) for o in self.origin))
        image.SetDirection(tuple(float(v) for v in np.asarray(self.direction).flatten()))
        return image

    @classmethod
    def from_sitk(cls, image: Any, like: Volume | None = None) -> Volume:
        """A Volume from a SimpleITK image, keeping ``like``'s source-slice records."""
        import SimpleITK as sitk

        volume = cls(
            hu=sitk.GetArrayFromImage(image),
            spacing=tuple(float(s) for s in image.GetSpacing()),  # type: ignore[arg-type]
            origin=tuple(float(o) for o in image.GetOrigin()),  # type: ignore[arg-type]
            direction=np.asarray(image.GetDirection(), dtype=np.float64).reshape(3, 3),
        )
        if like is not None:
            volume.sop_uids, volume.slice_positions = list(like.sop_uids), list(like.slice_positions)
            volume.series_uid, volume.study_uid = like.series_uid, like.study_uid
            volume.frame_of_reference_uid = like.frame_of_reference_uid
            volume.header, volume.notes = dict(like.header), list(like.notes)
        return volume
