"""Synthetic CT studies: the phantom scanned with varying parameters and written as real DICOM series.

A scan takes the phantom of :mod:`seek_medical.phantom` through what a CT reconstruction does to it:
each slice averages the anatomy over its thickness (0.625-5 mm, partial volume along z), the
reconstruction kernel blurs (smooth) or edge-enhances (sharp) in plane, quantum noise depends on dose
(and is amplified by a sharp kernel), and values are stored as 12-bit integers with
RescaleIntercept -1024. The series is written one file per slice with full CT headers: patient,
study, series, SOP and frame-of-reference UIDs; ImagePositionPatient / ImageOrientationPatient,
PixelSpacing, SliceThickness, SpacingBetweenSlices, SliceLocation; rescale and window; kernel,
kVp, mA; InstanceNumber running with or against z; file names that carry no order.
``ground_truth.json`` beside the files gives every nodule's centre (LPS mm and voxel), diameter, type,
attachment and the SOPInstanceUID of the slice holding its centre.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from seek_medical.phantom import Thorax, random_thorax, render, render_labels
from seek_medical.volume import Volume

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
THICKNESSES = (0.625, 1.0, 1.25, 2.0, 2.5, 3.0, 5.0)
GROUND_TRUTH = "ground_truth.json"
Kernel = Literal["smooth", "sharp"]


@dataclass
class ScanParams:
    """How one series is acquired and reconstructed."""

    pixel_spacing: float
    rows: int
    columns: int
    thickness: float
    spacing: float
    slices: int
    kernel: Kernel = "smooth"
    noise_hu: float = 15.0
    instance_order: Literal["ascending", "descending"] = "ascending"
    kvp: float = 120.0
    ma: float = 200.0


@dataclass
class SimulatedStudy:
    """A scanned phantom: stored HU (k, j, i), nodule labels, geometry and the UIDs to write it with."""

    thorax: Thorax
    scan: ScanParams
    hu: np.ndarray
    labels: np.ndarray
    origin: tuple[float, float, float]
    seed: int
    uids: dict[str, str] = field(default_factory=dict)

    @property
    def spacing(self) -> tuple[float, float, float]:
        """(x, y, z) spacing in mm."""
        return (self.scan.pixel_spacing, self.scan.pixel_spacing, self.scan.spacing)

    def volume(self) -> Volume:
        """The study as a Volume (the same voxels and geometry the DICOM files hold)."""
        positions = [self.origin[2] + k * self.scan.spacing for k in range(self.scan.slices)]
        return Volume(
            hu=self.hu,
            spacing=self.spacing,
            origin=self.origin,
            sop_uids=[self.sop_uid(k) for k in range(self.scan.slices)],
            slice_positions=positions,
            series_uid=self.uids.get("series", ""),
            study_uid=self.uids.get("study", ""),
            frame_of_reference_uid=self.uids.get("frame", ""),
        )

    def sop_uid(self, k: int) -> str:
        """SOPInstanceUID of slice ``k`` (in z order)."""
        return f"{self.uids['sop_root']}.{k + 1}"

    def ground_truth(self) -> dict[str, Any]:
        """Nodules with centre (mm, voxel), diameter, type, attachment and the centre slice's SOPInstanceUID."""
        volume = self.volume()
        nodules = []
        for index, nodule in enumerate(self.thorax.nodules, start=1):
            ijk = volume.world_to_index(nodule.centre)
            record = nodule.to_json()
            record.update(
                label=index,
                centre_voxel=[float(v) for v in ijk],
                sop_instance_uid=volume.sop_uid_at(nodule.centre),
                voxels=int((self.labels == index).sum()),
            )
            nodules.append(record)
        return {
            "seed": self.seed,
            "series_instance_uid": self.uids.get("series"),
            "study_instance_uid": self.uids.get("study"),
            "scan": asdict(self.scan),
            "origin": list(self.origin),
            "nodules": nodules,
        }


def random_scan(
    rng: np.random.Generator, fov_mm: float, z_extent: float, thickness: tuple[float, float] = (0.625, 5.0)
) -> ScanParams:
    """Scan parameters drawn over the ranges clinical chest CT uses."""
    pixel_spacing = float(rng.uniform(0.6, 0.9))
    size = round(fov_mm / pixel_spacing)
    choices = [t for t in THICKNESSES if thickness[0] <= t <= thickness[1]] or [thickness[0]]
    slab = float(rng.choice(choices))
    kernel: Kernel = "sharp" if rng.uniform() < 0.4 else "smooth"
    return ScanParams(
        pixel_spacing=pixel_spacing,
        rows=size,
        columns=size,
        thickness=slab,
        spacing=slab,
        slices=int(z_extent // slab) + 1,
        kernel=kernel,
        noise_hu=float(rng.uniform(8.0, 30.0)),
        instance_order="descending" if rng.uniform() < 0.5 else "ascending",
        kvp=float(rng.choice([100.0, 120.0, 140.0])),
        ma=float(rng.uniform(40, 300)),
    )


def simulate_study(
    seed: int,
    fov_mm: float = 160.0,
    z_extent: float = 48.0,
    nodules: tuple[int, int] = (2, 6),
    diameter_range: tuple[float, float] = (2.0, 30.0),
    scan: ScanParams | None = None,
    thickness: tuple[float, float] = (0.625, 5.0),
    device: str = "cpu",
) -> SimulatedStudy:
    """One study: a random thorax scanned with random (or the given) parameters."""
    rng = np.random.default_rng(seed)
    thorax = random_thorax(rng, fov_mm, z_extent, 0.0, nodules, diameter_range)
    params = scan or random_scan(rng, fov_mm, z_extent, thickness)
    hu, labels, origin = acquire(thorax, params, rng, device)
    root = f"2.25.{int.from_bytes(rng.bytes(12), 'big')}"
    uids = {"study": f"{root}.1", "series": f"{root}.2", "frame": f"{root}.3", "sop_root": f"{root}.4"}
    return SimulatedStudy(thorax, params, hu, labels, origin, seed, uids)


def acquire(
    thorax: Thorax, params: ScanParams, rng: np.random.Generator, device: str = "cpu"
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """Scan ``thorax``: slab averaging over the thickness, kernel, noise, 12-bit quantisation (HU as int16)."""
    import torch

    ps = params.pixel_spacing
    xs = (np.arange(params.columns) - (params.columns - 1) / 2) * ps
    ys = (np.arange(params.rows) - (params.rows - 1) / 2) * ps
    z0 = thorax.z_centre - (params.slices - 1) / 2 * params.spacing
    zs = z0 + np.arange(params.slices) * params.spacing
    sub = int(min(6, max(1, math.ceil(params.thickness / 0.5))))
    offsets = (np.arange(sub) + 0.5) / sub - 0.5
    fine = (zs[:, None] + offsets[None, :] * params.thickness).reshape(-1)
    hu = render(thorax, xs, ys, fine, device).reshape(params.slices, sub, params.rows, params.columns).mean(dim=1)
    hu = reconstruct(hu, ps, params.kernel, params.noise_hu, int(rng.integers(1 << 30)))
    stored = torch.clamp(torch.round(hu), -1024, 3071).to(torch.int16).cpu().numpy()
    labels = render_labels(thorax, xs, ys, zs, device).cpu().numpy()
    return stored, labels, (float(xs[0]), float(ys[0]), float(zs[0]))


def reconstruct(hu: Any, pixel_spacing: float, kernel: str, noise_hu: float, seed: int) -> Any:
    """In-plane kernel (smooth blur or sharp edge enhancement) and dose noise shaped by the same kernel."""
    import torch

    generator = torch.Generator(device="cpu").manual_seed(seed)
    noise = torch.randn(hu.shape, generator=generator).to(hu.device)
    if kernel == "sharp":
        blurred = gaussian_2d(hu, 1.0 / pixel_spacing)
        hu = hu + 0.7 * (hu - blurred)
        noise = gaussian_2d(noise, 0.35 / pixel_spacing)
        scale = 1.8
    else:
        hu = gaussian_2d(hu, 0.6 / pixel_spacing)
        noise = gaussian_2d(noise, 0.8 / pixel_spacing)
        scale = 1.0
    noise = noise / noise.std().clamp(min=1e-6)
    return hu + noise * noise_hu * scale


def gaussian_2d(volume: Any, sigma_px: float) -> Any:
    """Separable in-plane Gaussian blur of a (z, y, x) tensor with sigma in pixels (edges replicated).

    Written as a sum of shifted copies: for the few-pixel kernels used here this is several times faster on
    a CPU than a one-channel conv2d, and the same on a GPU.
    """
    import torch

    if sigma_px < 0.1:
        return volume
    radius = max(1, math.ceil(3 * sigma_px))
    taps = torch.arange(-radius, radius + 1, dtype=torch.float32)
    weights = torch.exp(-(taps**2) / (2 * sigma_px**2))
    weights = (weights / weights.sum()).tolist()
    out = volume
    for axis in (-1, -2):
        n = out.shape[axis]
        base = torch.arange(n, device=volume.device)
        total = None
        for shift, weight in zip(range(-radius, radius + 1), weights, strict=True):
            term = out.index_select(axis, (base + shift).clamp(0, n - 1)) * weight
            total = term if total is None else total + term
        out = total
    return out


# ---- DICOM ------------------------------------------------------------------------------------------


def write_study(
    study: SimulatedStudy, folder: str | Path, names: Literal["random", "instance"] = "random"
) -> list[Path]:
    """Write the study as one DICOM file per slice plus ground_truth.json; return the slice files."""
    import pydicom
    from pydicom.dataset import FileMetaDataset

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    scan, n = study.scan, study.scan.slices
    rng = np.random.default_rng(study.seed + 7)
    template = _template(study)
    files = []
    for k in range(n):
        instance = k + 1 if scan.instance_order == "ascending" else n - k
        ds = pydicom.Dataset()
        ds.update(template)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
        meta.MediaStorageSOPInstanceUID = study.sop_uid(k)
        meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
        meta.ImplementationClassUID = "2.25.170245946174231474113916521364312574941"
        ds.file_meta = meta
        z = study.origin[2] + k * scan.spacing
        ds.SOPInstanceUID = study.sop_uid(k)
        ds.InstanceNumber = instance
        ds.ImagePositionPatient = [f"{study.origin[0]:.6f}", f"{study.origin[1]:.6f}", f"{z:.6f}"]
        ds.SliceLocation = f"{z:.6f}"
        stored = (study.hu[k].astype(np.int32) + 1024).astype(np.uint16)
        ds.PixelData = stored.tobytes()
        name = f"{rng.integers(1 << 48):012x}.dcm" if names == "random" else f"IM{instance:05d}.dcm"
        path = out / name
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    (out / GROUND_TRUTH).write_text(json.dumps(study.ground_truth(), indent=1))
    return files


def _template(study: SimulatedStudy) -> Any:
    import pydicom

    scan = study.scan
    ds = pydicom.Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = "20261201"
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = "090000"
    ds.AccessionNumber = f"SIM{study.seed:06d}"
    ds.Modality = "CT"
    ds.Manufacturer = "Seek phantom simulator"
    ds.ManufacturerModelName = "seek-medical"
    ds.InstitutionName = "Synthetic"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "CT CHEST (synthetic)"
    ds.SeriesDescription = f"Chest {scan.thickness:g}mm {scan.kernel}"
    ds.PatientName = f"Phantom^{study.seed}"
    ds.PatientID = f"PHANTOM-{study.seed:06d}"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.PatientAge = "056Y"
    ds.BodyPartExamined = "CHEST"
    ds.SliceThickness = f"{scan.thickness:g}"
    ds.SpacingBetweenSlices = f"{scan.spacing:g}"
    ds.KVP = f"{scan.kvp:g}"
    ds.XRayTubeCurrent = int(scan.ma)
    ds.ConvolutionKernel = "B70f" if scan.kernel == "sharp" else "B30f"
    ds.FilterType = "BODY"
    ds.GantryDetectorTilt = "0"
    ds.PatientPosition = "HFS"
    ds.StudyInstanceUID = study.uids["study"]
    ds.SeriesInstanceUID = study.uids["series"]
    ds.FrameOfReferenceUID = study.uids["frame"]
    ds.PositionReferenceIndicator = ""
    ds.StudyID = f"{study.seed}"
    ds.SeriesNumber = 2
    ds.AcquisitionNumber = 1
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = scan.rows
    ds.Columns = scan.columns
    ds.PixelSpacing = [f"{scan.pixel_spacing:.6f}", f"{scan.pixel_spacing:.6f}"]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.WindowCenter = "-600"
    ds.WindowWidth = "1500"
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    return ds


def training_volume(thorax: Thorax, fov_mm: float, spacing: float, device: str = "cpu") -> tuple[Any, Any]:
    """The phantom rendered straight onto the model's isotropic grid (HU float, labels uint8); scan
    effects are added on the fly by :mod:`seek_medical.augment`."""
    size = round(fov_mm / spacing)
    slices = round(2 * thorax.z_half / spacing) + 1
    xs = (np.arange(size) - (size - 1) / 2) * spacing
    zs = thorax.z_centre + (np.arange(slices) - (slices - 1) / 2) * spacing
    return render(thorax, xs, xs, zs, device), render_labels(thorax, xs, xs, zs, device)
