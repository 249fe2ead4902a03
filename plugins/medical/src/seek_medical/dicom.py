"""Read a CT series from DICOM files into a :class:`Volume` in HU with its LPS geometry.

Slices are grouped by SeriesInstanceUID and ordered by ImagePositionPatient projected on the slice
normal (the cross product of ImageOrientationPatient's row and column cosines) — never by file name
or InstanceNumber, which scanners often number against z. Everything a real archive gets wrong is one
:class:`DataError` line naming the file: non-DICOM or truncated files, missing pixel data, a modality
other than CT, one slice, rows/columns or orientation changing inside the series, gantry tilt,
duplicated positions, missing slices, a compressed transfer syntax without a decoder, a header asking
for more voxels than :class:`Limits` allow. Uneven spacing without a gap is resampled to the median
spacing and noted in ``Volume.notes``.
"""

from __future__ import annotations

import io
import math
import os
import struct
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seek.errors import DataError
from seek_medical.sources import Limits, StudyFile, study_files
from seek_medical.volume import Volume

DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
NATIVE_LITTLE_ENDIAN = frozenset({"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"})
DECODERS_EXTRA = "pip install 'seek-medical[decoders]'"
#: Positions closer than this (mm) along the normal are the same position.
SAME_POSITION_MM = 0.01
#: A step larger than this many median spacings is a gap (missing slices).
GAP_FACTOR = 1.5
#: Steps differing from the median by more than this share are uneven (resampled).
UNEVEN_TOLERANCE = 0.01
#: In-plane drift of the slice origins per mm along the normal that counts as gantry tilt (0.2 degrees).
TILT_TOLERANCE_DEG = 0.2

Source = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


@dataclass
class SliceHeader:
    """What the reader needs from one file's header (pixel data left on disk until the series is chosen)."""

    name: str
    data: Path | bytes
    dataset: Any
    series_uid: str
    modality: str
    sop_uid: str
    has_pixels: bool
    rows: int = 0
    columns: int = 0
    orientation: tuple[float, ...] = ()
    position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    pixel_spacing: tuple[float, float] = (1.0, 1.0)
    slope: float = 1.0
    intercept: float = 0.0
    instance_number: int | None = None


@dataclass
class SeriesSummary:
    """One series of a study, as ``seek data check`` and the ``--series`` error list it."""

    uid: str
    modality: str
    slices: int
    description: str = ""
    headers: list[SliceHeader] = field(default_factory=list, repr=False)

    def line(self) -> str:
        """``UID (CT, 120 slices, 'chest')``."""
        text = f"{self.uid} ({self.modality}, {self.slices} slice{'s' if self.slices != 1 else ''}"
        return text + (f", {self.description!r})" if self.description else ")")


def list_series(source: Source, limits: Limits | None = None) -> list[SeriesSummary]:
    """Every image series in the study (headers only), largest first."""
    limits = limits or Limits()
    headers = [h for h in read_headers(study_files(source, limits)) if h is not None]
    groups: dict[str, list[SliceHeader]] = {}
    for header in headers:
        groups.setdefault(header.series_uid, []).append(header)
    summaries = [
        SeriesSummary(
            uid=uid,
            modality=items[0].modality,
            slices=len(items),
            description=str(items[0].dataset.get("SeriesDescription", "") or ""),
            headers=items,
        )
        for uid, items in groups.items()
    ]
    return sorted(summaries, key=lambda s: (-s.slices, s.uid))


def read_series(source: Source, series: str | None = None, limits: Limits | None = None) -> Volume:
    """Read one CT series of a study (a folder, a zip or a list of files) into a Volume in HU."""
    limits = limits or Limits()
    chosen = choose_series(list_series(source, limits), series, str(source) if not _is_list(source) else "files")
    return assemble(chosen.headers, limits)


def choose_series(found: list[SeriesSummary], series: str | None, where: str) -> SeriesSummary:
    """The requested series, or the only CT series; several CT series without a choice is an error listing them."""
    images = [s for s in found if any(h.has_pixels for h in s.headers)]
    if series is not None:
        for summary in found:
            if summary.uid == series:
                return _check_modality(summary)
        listed = "; ".join(s.line() for s in images) or "none"
        raise DataError(f"{where}: no series {series!r} (series: {listed})")
    if not images:
        raise DataError(f"{where}: no image holds pixel data (missing PixelData in every file)")
    ct = [s for s in images if s.modality == "CT"]
    if not ct:
        return _check_modality(images[0])
    if len(ct) > 1:
        listed = "; ".join(s.line() for s in ct)
        raise DataError(f"{where}: {len(ct)} CT series, pick one with --series UID: {listed}")
    return ct[0]


def _check_modality(summary: SeriesSummary) -> SeriesSummary:
    if summary.modality != "CT":
        first = summary.headers[0].name
        raise DataError(f"{first}: modality is {summary.modality or 'missing'}, not CT (series {summary.uid})")
    return summary


def _is_list(source: Source) -> bool:
    return not isinstance(source, (str, os.PathLike))


# ---- headers ------------------------------------------------------------------------------------------


def read_headers(files: list[StudyFile]) -> list[SliceHeader | None]:
    """Parse each file's header; None for a DICOMDIR; a DataError naming any file that is not DICOM."""
    return [read_header(name, data) for name, data in files]


def read_header(name: str, data: Path | bytes) -> SliceHeader | None:
    """One file's header; pixel data stays on disk (deferred) for files given by path."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        if isinstance(data, bytes):
            dataset = pydicom.dcmread(io.BytesIO(data))
        else:
            dataset = pydicom.dcmread(data, defer_size="16 KB")
    except InvalidDicomError:
        raise DataError(f"{name}: not a DICOM file (no DICM marker)") from None
    # pydicom's parser raises any of these on a truncated or corrupt file; each is the file's fault
    except (EOFError, OSError, ValueError, struct.error, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise DataError(f"{name}: truncated or corrupt DICOM file ({type(exc).__name__}: {exc})") from None
    if str(dataset.get("SOPClassUID", "")) == DICOMDIR_SOP_CLASS or "DirectoryRecordSequence" in dataset:
        return None
    has_pixels = "PixelData" in dataset
    header = SliceHeader(
        name=name,
        data=data,
        dataset=dataset,
        series_uid=str(dataset.get("SeriesInstanceUID", "") or ""),
        modality=str(dataset.get("Modality", "") or ""),
        sop_uid=str(dataset.get("SOPInstanceUID", "") or ""),
        has_pixels=has_pixels,
    )
    if not header.series_uid:
        raise DataError(f"{name}: no SeriesInstanceUID")
    return header


def _geometry(header: SliceHeader, limits: Limits) -> None:
    """Fill the geometry fields of a header of the chosen series, refusing malformed values."""
    ds, name = header.dataset, header.name
    if not header.has_pixels:
        raise DataError(f"{name}: missing pixel data (no PixelData element)")
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        raise DataError(
            f"{name}: a multi-frame image ({ds.NumberOfFrames} frames); this reader takes one slice per file"
        )
    header.rows, header.columns = _int(ds, "Rows", name), _int(ds, "Columns", name)
    if not (0 < header.rows <= limits.max_rows and 0 < header.columns <= limits.max_columns):
        raise DataError(
            f"{name}: {header.rows} x {header.columns} pixels; at most {limits.max_rows} x {limits.max_columns}"
        )
    if _int(ds, "SamplesPerPixel", name, 1) != 1:
        raise DataError(f"{name}: {ds.SamplesPerPixel} samples per pixel; CT slices are greyscale")
    if _int(ds, "BitsAllocated", name) not in (8, 16, 32):
        raise DataError(f"{name}: BitsAllocated {ds.BitsAllocated} is not 8, 16 or 32")
    header.orientation = _floats(ds, "ImageOrientationPatient", 6, name)
    header.position = _floats(ds, "ImagePositionPatient", 3, name)  # type: ignore[assignment]
    header.pixel_spacing = _floats(ds, "PixelSpacing", 2, name)  # type: ignore[assignment]
    if min(header.pixel_spacing) <= 0:
        raise DataError(f"{name}: PixelSpacing {list(header.pixel_spacing)} must be positive")
    row, col = np.asarray(header.orientation[:3]), np.asarray(header.orientation[3:])
    if abs(np.linalg.norm(row) - 1) > 1e-3 or abs(np.linalg.norm(col) - 1) > 1e-3 or abs(row @ col) > 1e-3:
        raise DataError(
            f"{name}: ImageOrientationPatient {list(header.orientation)} is not two unit, orthogonal vectors"
        )
    header.slope = float(ds.get("RescaleSlope", 1) or 1)
    header.intercept = float(ds.get("RescaleIntercept", 0) or 0)
    number = ds.get("InstanceNumber")
    header.instance_number = int(number) if number not in (None, "") else None
    tilt = ds.get("GantryDetectorTilt")
    if tilt not in (None, "") and abs(float(tilt)) > 0.01:
        raise DataError(f"{name}: gantry tilt of {float(tilt):g} degrees; tilted acquisitions are not read")


def _int(ds: Any, key: str, name: str, default: int | None = None) -> int:
    value = ds.get(key, default)
    if value in (None, ""):
        raise DataError(f"{name}: no {key}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DataError(f"{name}: {key} {value!r} is not a number") from None


def _floats(ds: Any, key: str, count: int, name: str) -> tuple[float, ...]:
    value = ds.get(key)
    if value in (None, ""):
        raise DataError(f"{name}: no {key}")
    try:
        numbers = tuple(
            float(v) for v in (value if isinstance(value, (list, tuple)) or hasattr(value, "__iter__") else [value])
        )
    except (TypeError, ValueError):
        raise DataError(f"{name}: {key} {value!r} is not numeric") from None
    if len(numbers) != count or not all(math.isfinite(v) for v in numbers):
        raise DataError(f"{name}: {key} has {len(numbers)} values {list(numbers)}, expected {count} finite numbers")
    return numbers


# ---- assembling ---------------------------------------------------------------------------------------


def assemble(headers: list[SliceHeader], limits: Limits) -> Volume:
    """Check the chosen series' geometry, read its pixels in normal order and convert to HU."""
    headers = _drop_repeated_files(headers)
    notes = [f"{len(headers)} slice files read"]
    for header in headers:
        _geometry(header, limits)
    first = headers[0]
    if len(headers) < 2:
        raise DataError(f"{first.name}: the series {first.series_uid} holds a single slice; a CT volume needs several")
    for header in headers[1:]:
        if (header.rows, header.columns) != (first.rows, first.columns):
            raise DataError(
                f"{header.name}: {header.rows} x {header.columns} pixels, but {first.name} has "
                f"{first.rows} x {first.columns} in the same series"
            )
        if not np.allclose(header.orientation, first.orientation, atol=1e-4):
            raise DataError(
                f"{header.name}: mixed orientations in one series: ImageOrientationPatient "
                f"{_fmt(header.orientation)} vs {_fmt(first.orientation)} in {first.name}"
            )
        if not np.allclose(header.pixel_spacing, first.pixel_spacing, rtol=1e-4):
            raise DataError(
                f"{header.name}: PixelSpacing {list(header.pixel_spacing)} differs from {list(first.pixel_spacing)} "
                f"in {first.name}"
            )
    if len(headers) * first.rows * first.columns > limits.max_voxels or len(headers) > limits.max_slices:
        raise DataError(
            f"{first.name}: series {first.series_uid} holds {len(headers)} x {first.rows} x {first.columns} voxels; "
            f"at most {limits.max_voxels:,} ({limits.max_slices} slices)"
        )
    row, col = np.asarray(first.orientation[:3]), np.asarray(first.orientation[3:])
    normal = np.cross(row, col)
    headers.sort(key=lambda h: float(np.dot(h.position, normal)))
    along = np.asarray([float(np.dot(h.position, normal)) for h in headers])
    _check_positions(headers, along, normal)
    steps = np.diff(along)
    spacing_z = float(np.median(steps))
    _check_decoders(headers)
    ds = first.dataset
    header_record = _acquisition(ds, spacing_z)
    study_uid, frame_uid = str(ds.get("StudyInstanceUID", "") or ""), str(ds.get("FrameOfReferenceUID", "") or "")
    hu = _read_pixels(headers)
    uneven = float(np.max(np.abs(steps - spacing_z))) > max(UNEVEN_TOLERANCE * spacing_z, 1e-3)
    if uneven:
        hu = _resample_z(hu, along, spacing_z)
        notes.append(
            f"uneven slice spacing ({steps.min():.3f}-{steps.max():.3f} mm): resampled along z to {spacing_z:.3f} mm"
        )
    numbers = [h.instance_number for h in headers if h.instance_number is not None]
    if len(numbers) == len(headers) and numbers[0] > numbers[-1]:
        notes.append("InstanceNumber runs against z (descending); slices ordered by position")
    return Volume(
        hu=hu,
        spacing=(float(first.pixel_spacing[1]), float(first.pixel_spacing[0]), spacing_z),
        origin=tuple(float(v) for v in headers[0].position),  # type: ignore[arg-type]
        direction=np.stack([row, col, normal], axis=1),
        sop_uids=[h.sop_uid for h in headers],
        slice_positions=[float(v) for v in along],
        series_uid=first.series_uid,
        study_uid=study_uid,
        frame_of_reference_uid=frame_uid,
        header=header_record,
        notes=notes,
    )


def _drop_repeated_files(headers: list[SliceHeader]) -> list[SliceHeader]:
    """The same SOPInstanceUID twice is the same slice copied twice: keep the first."""
    seen: dict[str, SliceHeader] = {}
    for header in headers:
        key = header.sop_uid or header.name
        seen.setdefault(key, header)
    return list(seen.values())


def _check_positions(headers: list[SliceHeader], along: np.ndarray, normal: np.ndarray) -> None:
    steps = np.diff(along)
    for index in np.flatnonzero(steps < SAME_POSITION_MM):
        a, b = headers[index], headers[index + 1]
        raise DataError(
            f"{b.name}: duplicated slice position {along[index + 1]:.3f} mm along the normal "
            f"(also {a.name}, a different SOPInstanceUID)"
        )
    span = along[-1] - along[0]
    drift = np.asarray(headers[-1].position) - np.asarray(headers[0].position) - normal * span
    angle = math.degrees(math.atan2(float(np.linalg.norm(drift)), span))
    if angle > TILT_TOLERANCE_DEG:
        raise DataError(
            f"{headers[-1].name}: slice origins drift {np.linalg.norm(drift):.2f} mm sideways over {span:.1f} mm "
            f"(gantry tilt of {angle:.2f} degrees); tilted acquisitions are not read"
        )
    spacing = float(np.median(steps))
    for index in np.flatnonzero(steps > GAP_FACTOR * spacing):
        a, b = headers[index], headers[index + 1]
        missing = round(steps[index] / spacing) - 1
        raise DataError(
            f"{b.name}: missing slices: a gap of {steps[index]:.2f} mm after {a.name} where slices are "
            f"{spacing:.2f} mm apart (about {missing} missing)"
        )


def _check_decoders(headers: list[SliceHeader]) -> None:
    from pydicom.pixels import get_decoder

    checked: set[str] = set()
    for header in headers:
        meta = getattr(header.dataset, "file_meta", None)
        syntax = getattr(meta, "TransferSyntaxUID", None) if meta is not None else None
        if syntax is None or str(syntax) in checked:
            continue
        checked.add(str(syntax))
        if not syntax.is_compressed:
            continue
        try:
            available = get_decoder(syntax).is_available
        except NotImplementedError:
            available = False
        if not available:
            raise DataError(
                f"{header.name}: pixel data is compressed as {syntax.name} ({syntax}) and no decoder for it is "
                f"installed: {DECODERS_EXTRA}"
            )


def _read_pixels(headers: list[SliceHeader]) -> np.ndarray:
    first = headers[0]
    integral = all(h.slope == int(h.slope) and h.intercept == int(h.intercept) for h in headers)
    dtype = np.int16 if integral and _fits_int16(headers) else np.float32
    hu = np.empty((len(headers), first.rows, first.columns), dtype=dtype)
    for k, header in enumerate(headers):
        pixels = _pixels(header)
        if dtype == np.int16 and header.slope == 1:
            np.add(pixels, np.int32(header.intercept), out=hu[k], casting="unsafe")
        else:
            hu[k] = pixels.astype(np.float32) * header.slope + header.intercept
        header.dataset = None  # the pixel buffer is in ``hu`` now; keep only one copy in memory
    return hu


def _fits_int16(headers: list[SliceHeader]) -> bool:
    for header in headers:
        ds = header.dataset
        bits = int(ds.get("BitsStored", ds.get("BitsAllocated", 16)))
        signed = int(ds.get("PixelRepresentation", 0)) == 1
        low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        ends = sorted([low * header.slope + header.intercept, high * header.slope + header.intercept])
        if ends[0] < -32768 or ends[1] > 32767:
            return False
    return True


def _pixels(header: SliceHeader) -> np.ndarray:
    ds = header.dataset
    try:
        raw = ds.PixelData
    except (OSError, EOFError, ValueError) as exc:
        raise DataError(f"{header.name}: pixel data cannot be read ({exc})") from None
    syntax = (
        ds.file_meta.TransferSyntaxUID if hasattr(ds, "file_meta") and "TransferSyntaxUID" in ds.file_meta else None
    )
    if syntax is None or not syntax.is_compressed:
        expected = header.rows * header.columns * int(ds.BitsAllocated) // 8
        if raw is None or len(raw) < expected:
            raise DataError(
                f"{header.name}: truncated pixel data ({0 if raw is None else len(raw):,} bytes, "
                f"{header.rows} x {header.columns} x {int(ds.BitsAllocated) // 8} expected)"
            )
    native = syntax is None or str(syntax) in NATIVE_LITTLE_ENDIAN
    bits, stored = int(ds.get("BitsAllocated", 16)), int(ds.get("BitsStored", 16) or 16)
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    if native and bits == 16 and (not signed or stored == 16):
        # the common CT case read straight from the buffer: several times faster than pixel_array's handlers
        flat = np.frombuffer(raw, dtype="<i2" if signed else "<u2", count=header.rows * header.columns)
        return flat.reshape(header.rows, header.columns)
    try:
        pixels = ds.pixel_array
    # decoders raise these on corrupt or mislabelled pixel data; each is the file's fault
    except (ValueError, RuntimeError, OSError, EOFError, struct.error, NotImplementedError, TypeError) as exc:
        raise DataError(f"{header.name}: pixel data cannot be decoded ({type(exc).__name__}: {exc})") from None
    if pixels.shape != (header.rows, header.columns):
        raise DataError(f"{header.name}: pixel array is {pixels.shape}, header says {header.rows} x {header.columns}")
    return pixels


def _resample_z(hu: np.ndarray, along: np.ndarray, spacing: float) -> np.ndarray:
    """Linear interpolation of the slices at ``along`` onto a regular grid starting at ``along[0]``."""
    count = round((along[-1] - along[0]) / spacing) + 1
    targets = along[0] + spacing * np.arange(count)
    upper = np.clip(np.searchsorted(along, targets, side="right"), 1, len(along) - 1)
    lower = upper - 1
    weight = ((targets - along[lower]) / (along[upper] - along[lower])).astype(np.float32)[:, None, None]
    out = hu[lower].astype(np.float32) * (1 - weight) + hu[upper].astype(np.float32) * weight
    return np.round(out).astype(hu.dtype) if hu.dtype == np.int16 else out


def _acquisition(ds: Any, spacing_z: float) -> dict[str, Any]:
    keys = ("SliceThickness", "ConvolutionKernel", "KVP", "XRayTubeCurrent", "Manufacturer", "SeriesDescription")
    record: dict[str, Any] = {"SpacingBetweenSlicesMeasured": round(spacing_z, 4)}
    for key in keys:
        value = ds.get(key)
        if value not in (None, ""):
            record[key] = str(value) if not isinstance(value, (int, float)) else float(value)
    return record


def _fmt(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


def count_modalities(found: list[SeriesSummary]) -> dict[str, int]:
    """Modality -> number of series (for the data check report)."""
    return dict(Counter(s.modality for s in found))
