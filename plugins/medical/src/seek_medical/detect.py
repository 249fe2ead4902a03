"""Whole-volume inference: sliding windows with overlap, candidates from heat-map peaks, findings in patient mm.

The same functions serve ``seek run`` evaluation, ``seek medical detect`` and the predictor, so
training-time evaluation and serving compute findings identically.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from seek_medical.model import HEAT, OFFSET, SEGMENT, SIZE, STRIDE, from_cells
from seek_medical.preprocess import lung_mask, normalise, resample_isotropic
from seek_medical.volume import Volume


@dataclass
class Finding:
    """One detected nodule: where (patient mm, source voxel, central slice), how big, how likely."""

    centre_mm: list[float]
    centre_voxel: list[float]
    sop_instance_uid: str
    diameter_mm: float
    volume_mm3: float
    probability: float
    #: Diameter from the size head (before the CRF measured the mask).
    predicted_diameter_mm: float = 0.0
    mask_voxels: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON form (findings.json)."""
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass
class Detection:
    """What one study's inference produced: findings, the isotropic volume and the maps (for reports, CRF, SEG)."""

    findings: list[Finding]
    iso: Volume
    heat: np.ndarray
    probability: np.ndarray
    masks: list[np.ndarray] = field(default_factory=list)
    boxes: list[tuple[slice, slice, slice]] = field(default_factory=list)
    seconds: float = 0.0


def sliding_window(
    model: Any, volume: np.ndarray, window: int, overlap: float, device: str = "cpu", batch: int = 2
) -> np.ndarray:
    """Run ``model`` over a normalised (D, H, W) volume in windows of ``window`` voxels overlapping by
    ``overlap``; outputs are blended with Gaussian weights. Returns (6, D/2, H/2, W/2) float32 maps."""
    import torch

    multiple = model.multiple
    window = max(multiple, window // multiple * multiple)
    shape = np.asarray(volume.shape)
    padded = np.maximum(shape, window)
    padded = ((padded + multiple - 1) // multiple) * multiple
    x = np.full(tuple(padded), float(normalise(np.array([-1024.0]))[0]), dtype=np.float32)
    x[: shape[0], : shape[1], : shape[2]] = volume
    step = max(multiple, int(window * (1 - overlap)) // multiple * multiple)
    starts = [_starts(int(n), window, step) for n in padded]
    cells = window // STRIDE
    sigma = cells / 4
    axis = np.exp(-((np.arange(cells) - (cells - 1) / 2) ** 2) / (2 * sigma**2)).astype(np.float32)
    weight = torch.from_numpy(axis[:, None, None] * axis[None, :, None] * axis[None, None, :] + 1e-3)
    out = torch.zeros((6, *(padded // STRIDE)), dtype=torch.float32)
    norm = torch.zeros(tuple(padded // STRIDE), dtype=torch.float32)
    corners = [(a, b, c) for a in starts[0] for b in starts[1] for c in starts[2]]
    tensor = torch.from_numpy(x)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for first in range(0, len(corners), batch):
            group = corners[first : first + batch]
            patches = torch.stack([tensor[a : a + window, b : b + window, c : c + window] for a, b, c in group])
            pred = model(patches[:, None].to(device)).float().cpu()
            for (a, b, c), p in zip(group, pred, strict=True):
                sa, sb, sc = a // STRIDE, b // STRIDE, c // STRIDE
                out[:, sa : sa + cells, sb : sb + cells, sc : sc + cells] += p * weight
                norm[sa : sa + cells, sb : sb + cells, sc : sc + cells] += weight
    model.train(was_training)
    maps = (out / norm).numpy()
    valid = (shape + STRIDE - 1) // STRIDE
    return maps[:, : valid[0], : valid[1], : valid[2]]


def _starts(size: int, window: int, step: int) -> list[int]:
    if size <= window:
        return [0]
    starts = list(range(0, size - window, step))
    return [*starts, size - window]


def candidates(maps: np.ndarray, threshold: float, limit: int, min_separation: float = 1.5) -> list[dict[str, float]]:
    """Peaks of the heat map (3x3x3 local maxima above ``threshold``), best first, decoded to input voxels."""
    import torch
    import torch.nn.functional as F

    heat = torch.sigmoid(torch.from_numpy(maps[HEAT]))[None, None]
    peaks = (heat == F.max_pool3d(heat, 3, stride=1, padding=1)) & (heat >= threshold)
    index = torch.nonzero(peaks[0, 0])
    scores = heat[0, 0][peaks[0, 0]]
    order = torch.argsort(scores, descending=True)
    found: list[dict[str, float]] = []
    for row in order.tolist():
        k, j, i = index[row].tolist()
        offset = maps[OFFSET, k, j, i]
        cell = np.array([k, j, i], dtype=np.float64) + offset
        voxel = from_cells(torch.from_numpy(cell)).numpy()
        diameter = float(math.exp(float(maps[SIZE, k, j, i])))
        if any(np.linalg.norm(voxel - f["kji"]) < max(min_separation, 0.5 * max(diameter, f["d"])) for f in found):
            continue  # the same nodule seen by two neighbouring peaks
        found.append({"kji": voxel, "d": diameter, "p": float(scores[row])})
        if len(found) >= limit:
            break
    return found


def detect(
    model: Any,
    source: Volume,
    spacing_mm: float,
    window: int = 64,
    overlap: float = 0.25,
    threshold: float = 0.05,
    limit: int = 30,
    device: str = "cpu",
    crf: Any = None,
    lung_filter: bool = True,
) -> Detection:
    """Resample ``source`` to ``spacing_mm``, slide the detector over it, decode findings (with CRF masks)."""
    import time

    from seek_medical.crf import refine_candidate

    started = time.perf_counter()
    iso, _ = resample_isotropic(source, spacing_mm)
    hu = iso.hu.astype(np.float32)
    maps = sliding_window(model, normalise(hu), window, overlap, device)
    probability = _upsample(_sigmoid(maps[SEGMENT]), hu.shape)
    lungs = lung_mask(hu, spacing_mm) if lung_filter else None
    findings, masks, boxes = [], [], []
    for cand in candidates(maps, threshold, limit):
        kji = cand["kji"]
        if lungs is not None and not _near_lung(lungs, kji, 3.0 / spacing_mm):
            continue  # false-positive reduction: nodules sit in (or on the wall of) the lungs
        diameter_vox = cand["d"]
        if crf is not None and cand["p"] >= crf.min_probability:
            mask, box = refine_candidate(hu, probability, kji, diameter_vox, spacing_mm, crf)
        else:
            mask, box = threshold_candidate(probability, kji, diameter_vox)
        findings.append(_finding(source, iso, kji, cand, mask, spacing_mm))
        masks.append(mask)
        boxes.append(box)
    return Detection(findings, iso, _sigmoid(maps[HEAT]), probability, masks, boxes, time.perf_counter() - started)


def _finding(
    source: Volume, iso: Volume, kji: np.ndarray, cand: dict[str, float], mask: np.ndarray, spacing_mm: float
) -> Finding:
    world = iso.index_to_world(kji[::-1])
    measured, volume = measure(mask, spacing_mm)
    predicted = cand["d"] * spacing_mm
    return Finding(
        centre_mm=[float(v) for v in world],
        centre_voxel=[float(v) for v in source.world_to_index(world)],
        sop_instance_uid=source.sop_uid_at(world),
        diameter_mm=measured if measured > 0 else predicted,
        volume_mm3=volume,
        probability=cand["p"],
        predicted_diameter_mm=predicted,
        mask_voxels=int(mask.sum()),
    )


def region(
    shape: tuple[int, ...], kji: np.ndarray, diameter_vox: float, margin: float = 4.0
) -> tuple[slice, slice, slice]:
    """The box around a candidate the CRF and the masks work in: 1.5 diameters plus a margin."""
    half = math.ceil(0.75 * max(diameter_vox, 2.0) + margin)
    centre = np.round(kji).astype(int)
    return tuple(slice(max(0, c - half), min(n, c + half + 1)) for c, n in zip(centre, shape, strict=False))  # type: ignore[return-value]


def candidate_map(
    probability: np.ndarray, kji: np.ndarray, diameter_vox: float
) -> tuple[np.ndarray, tuple[slice, ...]]:
    """A candidate's nodule-probability map in its box: the network's voxel map, or where that is less sure,
    a soft sphere of the predicted diameter around the predicted centre (the size and offset heads' view)."""
    box = region(probability.shape, kji, diameter_vox)
    axes = [np.arange(s.start, s.stop, dtype=np.float32) - c for s, c in zip(box, kji, strict=False)]
    distance = np.sqrt(axes[0][:, None, None] ** 2 + axes[1][None, :, None] ** 2 + axes[2][None, None, :] ** 2)
    radius = max(diameter_vox / 2, 0.75)
    prior = 1 / (1 + np.exp(-(radius - distance) / max(0.5, 0.15 * radius)))
    return np.maximum(probability[box], prior.astype(np.float32)), box


def threshold_candidate(
    probability: np.ndarray, kji: np.ndarray, diameter_vox: float, level: float = 0.5
) -> tuple[np.ndarray, tuple[slice, slice, slice]]:
    """The no-CRF mask: the candidate's probability map thresholded at ``level``, the part connected to the centre."""
    local, box = candidate_map(probability, kji, diameter_vox)
    mask = local >= level
    return keep_component(mask, kji - np.array([s.start for s in box])), box  # type: ignore[return-value]


def keep_component(mask: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """The 26-connected component of ``mask`` nearest to ``centre`` (box coordinates), grown from that voxel."""
    import torch
    import torch.nn.functional as F

    if not mask.any():
        return mask
    points = np.argwhere(mask)
    nearest = points[np.argmin(np.linalg.norm(points - centre, axis=1))]
    allowed = torch.from_numpy(np.ascontiguousarray(mask)).float()[None, None]
    grown = torch.zeros_like(allowed)
    grown[0, 0, nearest[0], nearest[1], nearest[2]] = 1.0
    while True:
        step = F.max_pool3d(grown, 3, stride=1, padding=1) * allowed
        if torch.equal(step, grown):
            return grown[0, 0].bool().numpy()
        grown = step


def measure(mask: np.ndarray, spacing_mm: float) -> tuple[float, float]:
    """(longest axis in mm, volume in mm^3) of a mask on an isotropic grid."""
    count = int(mask.sum())
    if count == 0:
        return 0.0, 0.0
    points = np.argwhere(mask).astype(np.float64)
    if len(points) > 3000:
        points = points[np.random.default_rng(0).choice(len(points), 3000, replace=False)]
    distances = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(-1)) if len(points) <= 3000 else 0
    longest = float(np.max(distances)) + 1.0  # voxel centres: add one voxel for the extent
    return longest * spacing_mm, count * spacing_mm**3


def _near_lung(lungs: np.ndarray, kji: np.ndarray, reach: float) -> bool:
    box = tuple(slice(max(0, int(c - reach)), int(c + reach) + 1) for c in kji)
    return bool(lungs[box].any())


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (1 / (1 + np.exp(-x.astype(np.float64)))).astype(np.float32)


def _upsample(cells: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    tensor = torch.from_numpy(cells)[None, None]
    up = F.interpolate(tensor, scale_factor=STRIDE, mode="trilinear", align_corners=False)[0, 0]
    full = np.zeros(shape, dtype=np.float32)
    k, j, i = (min(a, b) for a, b in zip(shape, up.shape, strict=False))
    full[:k, :j, :i] = up[:k, :j, :i].numpy()
    return full
