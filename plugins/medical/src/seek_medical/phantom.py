"""An analytic thorax phantom with lung nodules, rendered in torch on any axial grid (CPU or GPU).

What it models: a body ellipse with a fat layer and muscle wall; ribs as oblique bands in the wall;
a vertebral body with cortex, the aorta and the heart; two lungs near -850 HU with low-frequency
texture that taper towards the ends of the scanned range; a branching vessel tree from each hilum
(tubes whose radius shrinks by generation, clipped to the lungs); trachea, main bronchi and the first
bronchial generations as air tubes with a soft-tissue wall; and nodules — solid (0-60 HU), part-solid
(ground-glass with a solid core) and ground-glass (-650..-450 HU), lobulated, 2-30 mm, many near 3-5 mm,
isolated, juxta-pleural (touching the chest wall) or juxta-vascular (touching a vessel). Every edge is
rendered with its partial-volume fraction at the grid's voxel size.

What it does not model: the whole-body field of view (the torso is scaled to the requested field of
view, nodules and vessels keep their real sizes), fissures, emphysema, atelectasis, motion, beam
hardening and streaks, calcified or cavitated nodules, spiculation, contrast enhancement, and the
anatomical variability of real patients. It is a test bed for the pipeline, not a substitute for
LIDC-IDRI/LUNA16.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

NODULE_TYPES = ("solid", "part-solid", "ground-glass")
ATTACHMENTS = ("isolated", "juxta-pleural", "juxta-vascular")
LUNG_HU, AIR_HU, FAT_HU, MUSCLE_HU, BONE_HU, BLOOD_HU = -850.0, -1000.0, -100.0, 40.0, 650.0, 40.0


@dataclass
class Nodule:
    """One nodule's ground truth: centre (LPS mm), diameter (mm), type, attachment and its shape."""

    centre: tuple[float, float, float]
    diameter: float
    kind: str
    attachment: str
    hu: float
    core_fraction: float = 0.0
    lobulation: tuple[float, float, float, float] = (0.0, 3.0, 0.0, 0.0)

    def to_json(self) -> dict[str, Any]:
        """JSON form (ground_truth.json)."""
        return asdict(self)


@dataclass
class Segment:
    """A tube from ``a`` to ``b`` (mm) of radius ``radius``; airways have a lumen of ``lumen`` radius."""

    a: tuple[float, float, float]
    b: tuple[float, float, float]
    radius: float
    lumen: float = 0.0


@dataclass
class Thorax:
    """The anatomy of one simulated study, in LPS mm around (0, 0, ``z_centre``)."""

    half_width: float
    half_depth: float
    z_centre: float
    z_half: float
    vessels: list[Segment] = field(default_factory=list)
    airways: list[Segment] = field(default_factory=list)
    nodules: list[Nodule] = field(default_factory=list)
    texture_seed: int = 0
    rib_phase: float = 0.0

    def lung_axes(self, side: int) -> tuple[float, float, float, float]:
        """(centre x, centre y, semi-axis x, semi-axis y) of the lung on ``side`` (+1 left, -1 right)."""
        a, b = self.half_width, self.half_depth
        return side * 0.45 * a, -0.05 * b, 0.34 * a, 0.68 * b

    def lung_depth(self, point: np.ndarray) -> float:
        """Approximate distance (mm) from ``point`` to the pleura; negative outside the lungs."""
        best = -1e9
        taper = self._taper(float(point[2]))
        for side in (-1, 1):
            cx, cy, ax, ay = self.lung_axes(side)
            ax, ay = ax * taper, ay * taper
            rho = math.hypot((point[0] - cx) / ax, (point[1] - cy) / ay)
            depth = (1 - rho) * min(ax, ay)
            heart = math.hypot(
                (point[0] - 0.1 * self.half_width) / (0.3 * self.half_width),
                (point[1] + 0.3 * self.half_depth) / (0.36 * self.half_depth),
            )
            if heart < 1:
                depth = min(depth, (heart - 1) * 0.3 * self.half_width)
            best = max(best, depth)
        return best

    def _taper(self, z: float) -> float:
        u = (z - self.z_centre) / (1.6 * self.z_half)
        return math.sqrt(max(0.15, 1 - u * u))


def random_thorax(
    rng: np.random.Generator,
    fov_mm: float,
    z_extent: float,
    z_centre: float = 0.0,
    nodules: tuple[int, int] = (2, 6),
    diameter_range: tuple[float, float] = (2.0, 30.0),
) -> Thorax:
    """A random thorax filling ``fov_mm`` with a vessel tree, airways and nodules."""
    scale = rng.uniform(0.92, 1.0)
    thorax = Thorax(
        half_width=0.47 * fov_mm * scale,
        half_depth=0.36 * fov_mm * scale,
        z_centre=z_centre,
        z_half=z_extent / 2,
        texture_seed=int(rng.integers(1 << 30)),
        rib_phase=float(rng.uniform(0, 20)),
    )
    for side in (-1, 1):
        hilum = np.array(
            [side * 0.25 * thorax.half_width, -0.02 * thorax.half_depth, z_centre + rng.uniform(-0.2, 0.2) * z_extent]
        )
        for _ in range(2):
            direction = np.array([side * rng.uniform(0.3, 1.0), rng.uniform(-0.8, 0.8), rng.uniform(-1.2, 1.2)])
            _branch(rng, thorax.vessels, hilum, direction / np.linalg.norm(direction), rng.uniform(2.5, 3.8), 0, 6)
    _airways(rng, thorax)
    count = int(rng.integers(nodules[0], nodules[1] + 1))
    for _ in range(count):
        nodule = _place_nodule(rng, thorax, diameter_range)
        if nodule is not None:
            thorax.nodules.append(nodule)
    return thorax


def sample_diameter(rng: np.random.Generator, low: float, high: float) -> float:
    """Nodule diameters: 15% 2-3 mm, 40% 3-5 mm, 25% 5-10 mm, 20% 10-30 mm (log-uniform), clipped to the range."""
    u = rng.uniform()
    if u < 0.15:
        d = rng.uniform(2.0, 3.0)
    elif u < 0.55:
        d = rng.uniform(3.0, 5.0)
    elif u < 0.80:
        d = rng.uniform(5.0, 10.0)
    else:
        d = math.exp(rng.uniform(math.log(10.0), math.log(30.0)))
    return float(min(max(d, low), high))


def _branch(
    rng: np.random.Generator,
    out: list[Segment],
    start: np.ndarray,
    direction: np.ndarray,
    radius: float,
    depth: int,
    max_depth: int,
) -> None:
    length = radius * rng.uniform(5.0, 8.0) + 6.0
    end = start + direction * length
    out.append(Segment(tuple(start), tuple(end), radius))  # type: ignore[arg-type]
    if depth + 1 >= max_depth or radius < 0.6:
        return
    for sign in (-1, 1):
        axis = np.cross(direction, rng.normal(size=3))
        axis /= np.linalg.norm(axis) + 1e-9
        angle = sign * math.radians(rng.uniform(20, 40))
        child = direction * math.cos(angle) + np.cross(axis, direction) * math.sin(angle)
        _branch(rng, out, end, child / np.linalg.norm(child), radius * rng.uniform(0.68, 0.8), depth + 1, max_depth)


def _airways(rng: np.random.Generator, thorax: Thorax) -> None:
    a, b, zc, zh = thorax.half_width, thorax.half_depth, thorax.z_centre, thorax.z_half
    carina = np.array([0.0, 0.12 * b, zc + 0.15 * zh])
    thorax.airways.append(Segment((0.0, 0.15 * b, zc + 3 * zh), tuple(carina), 9.0, 7.5))  # type: ignore[arg-type]
    for side in (-1, 1):
        hilum = np.array([side * 0.25 * a, 0.02 * b, zc - 0.05 * zh])
        thorax.airways.append(Segment(tuple(carina), tuple(hilum), 6.0, 4.8))  # type: ignore[arg-type]
        for _ in range(2):
            direction = np.array([side * rng.uniform(0.4, 1.0), rng.uniform(-0.6, 0.6), rng.uniform(-1, 1)])
            direction /= np.linalg.norm(direction)
            end = hilum + direction * rng.uniform(20, 35)
            thorax.airways.append(Segment(tuple(hilum), tuple(end), 3.5, 2.6))  # type: ignore[arg-type]
            tip = end + (direction + rng.normal(scale=0.3, size=3)) * rng.uniform(12, 20)
            thorax.airways.append(Segment(tuple(end), tuple(tip), 2.2, 1.5))  # type: ignore[arg-type]


def _place_nodule(rng: np.random.Generator, thorax: Thorax, diameter_range: tuple[float, float]) -> Nodule | None:
    diameter = sample_diameter(rng, *diameter_range)
    radius = diameter / 2
    kind = str(rng.choice(NODULE_TYPES, p=[0.6, 0.15, 0.25]))
    attachment = str(rng.choice(ATTACHMENTS, p=[0.5, 0.25, 0.25]))
    z_low, z_high = thorax.z_centre - thorax.z_half + radius + 2, thorax.z_centre + thorax.z_half - radius - 2
    if z_high <= z_low:
        return None
    for _ in range(200):
        side = int(rng.choice([-1, 1]))
        cx, cy, ax, ay = thorax.lung_axes(side)
        z = rng.uniform(z_low, z_high)
        taper = thorax._taper(z)
        angle = rng.uniform(0, 2 * math.pi)
        if attachment == "juxta-pleural":
            target = radius * 0.75
            rho_guess = 1 - target / (min(ax, ay) * taper)
            point = np.array(
                [cx + rho_guess * ax * taper * math.cos(angle), cy + rho_guess * ay * taper * math.sin(angle), z]
            )
            depth = thorax.lung_depth(point)
            if abs(depth - target) > max(1.0, 0.4 * radius):
                continue
        elif attachment == "juxta-vascular":
            candidates = [s for s in thorax.vessels if s.radius >= 0.8]
            seg = candidates[int(rng.integers(len(candidates)))]
            t = rng.uniform(0.2, 0.8)
            axis = np.asarray(seg.b) - np.asarray(seg.a)
            on = np.asarray(seg.a) + t * axis
            normal = np.cross(axis, rng.normal(size=3))
            normal /= np.linalg.norm(normal) + 1e-9
            point = on + normal * (seg.radius + radius * 0.8)
            if not z_low <= point[2] <= z_high:
                continue
            depth = thorax.lung_depth(point)
            if depth < radius + 1.5:
                continue
        else:
            rho = math.sqrt(rng.uniform(0, 1)) * 0.9
            point = np.array([cx + rho * ax * taper * math.cos(angle), cy + rho * ay * taper * math.sin(angle), z])
            if thorax.lung_depth(point) < radius + 2.0:
                continue
        if any(np.linalg.norm(point - np.asarray(n.centre)) < radius + n.diameter / 2 + 4 for n in thorax.nodules):
            continue
        hu = float(rng.uniform(0, 60)) if kind == "solid" else float(rng.uniform(-650, -450))
        core = float(rng.uniform(0.35, 0.6)) if kind == "part-solid" else 0.0
        lobes = (
            float(rng.uniform(0.0, 0.12)),
            float(rng.integers(2, 5)),
            float(rng.uniform(0, 6.28)),
            float(rng.uniform(0, 6.28)),
        )
        return Nodule(tuple(float(v) for v in point), float(diameter), kind, attachment, hu, core, lobes)  # type: ignore[arg-type]
    return None


# ---- rendering ----------------------------------------------------------------------------------------


def render(thorax: Thorax, xs: Any, ys: Any, zs: Any, device: str = "cpu") -> Any:
    """HU on the grid ``zs x ys x xs`` (1-D coordinate arrays in mm) as a float32 torch tensor (z, y, x)."""
    import torch

    x = torch.as_tensor(np.asarray(xs), dtype=torch.float32, device=device)
    y = torch.as_tensor(np.asarray(ys), dtype=torch.float32, device=device)
    z = torch.as_tensor(np.asarray(zs), dtype=torch.float32, device=device)
    voxel = float(min(abs(x[1] - x[0]), abs(y[1] - y[0]))) if len(x) > 1 else 1.0
    a, b = thorax.half_width, thorax.half_depth
    X, Y = x[None, None, :], y[None, :, None]
    Z = z[:, None, None]
    rho_body = torch.sqrt((X / a) ** 2 + (Y / b) ** 2)
    edge = lambda d: torch.clamp(d / voxel + 0.5, 0, 1)  # noqa: E731  partial-volume fraction from a signed distance
    hu = torch.full((len(z), len(y), len(x)), AIR_HU, device=device)
    body = edge((1 - rho_body) * b).expand_as(hu)
    wall = edge((1 - rho_body) * b - 0.05 * b).expand_as(hu)
    hu = hu + body * (FAT_HU - AIR_HU)
    hu = hu + wall * (MUSCLE_HU - FAT_HU)
    theta = torch.atan2(Y, X)
    rib_band = ((rho_body > 0.84) & (rho_body < 0.92)).float()
    rib_z = torch.remainder(Z + thorax.rib_phase + 6.0 * theta, 22.0) < 7.0
    not_spine = (torch.abs(X) > 0.18 * a) | (Y < 0)
    hu = torch.where((rib_band * not_spine).bool() & rib_z, torch.full_like(hu, BONE_HU), hu)
    taper = torch.sqrt(torch.clamp(1 - ((Z - thorax.z_centre) / (1.6 * thorax.z_half)) ** 2, min=0.15))
    lung = torch.zeros_like(hu)
    for side in (-1, 1):
        cx, cy, ax, ay = thorax.lung_axes(side)
        rho = torch.sqrt(((X - cx) / (ax * taper)) ** 2 + ((Y - cy) / (ay * taper)) ** 2)
        lung = torch.maximum(lung, edge((1 - rho) * min(ax, ay) * taper))
    heart_rho = torch.sqrt(((X - 0.1 * a) / (0.3 * a)) ** 2 + ((Y + 0.3 * b) / (0.36 * b)) ** 2)
    lung = lung * (1 - edge((1 - heart_rho) * 0.3 * a))
    generator = torch.Generator(device="cpu").manual_seed(thorax.texture_seed)
    coarse = torch.randn((1, 1, max(2, len(z) // 6), max(2, len(y) // 8), max(2, len(x) // 8)), generator=generator)
    texture = torch.nn.functional.interpolate(coarse.to(device), size=hu.shape, mode="trilinear", align_corners=False)[
        0, 0
    ]
    hu = hu * (1 - lung) + lung * (LUNG_HU + 25.0 * texture)
    spine = torch.sqrt(X**2 + (Y - 0.62 * b) ** 2)
    hu = torch.where((spine < 0.13 * b).expand_as(hu), torch.full_like(hu, BONE_HU), hu)
    hu = torch.where((spine < 0.105 * b).expand_as(hu), torch.full_like(hu, 250.0), hu)
    aorta = torch.sqrt((X - 0.14 * a) ** 2 + (Y - 0.42 * b) ** 2) < 0.07 * b
    hu = torch.where(aorta.expand_as(hu), torch.full_like(hu, BLOOD_HU), hu)
    coords = (x, y, z)
    for seg in thorax.vessels:
        _tube(hu, coords, seg, voxel, inside=lung, value=BLOOD_HU)
    inner = (rho_body < 0.8).float().expand_as(hu)  # airways never pierce the chest wall
    for index, seg in enumerate(thorax.airways):
        within = inner if index < 3 else lung  # trachea and main bronchi in the mediastinum, the rest in the lungs
        _tube(hu, coords, seg, voxel, inside=within, value=-60.0)
        _tube(hu, coords, Segment(seg.a, seg.b, seg.lumen), voxel, inside=within, value=AIR_HU)
    for nodule in thorax.nodules:
        _nodule(hu, coords, nodule, voxel)
    return hu


def render_labels(thorax: Thorax, xs: Any, ys: Any, zs: Any, device: str = "cpu") -> Any:
    """uint8 labels on the grid: 0 background, n for the n-th nodule (its rendered extent, partial volume >= 0.5)."""
    import torch

    coords = tuple(torch.as_tensor(np.asarray(v), dtype=torch.float32, device=device) for v in (xs, ys, zs))
    labels = torch.zeros((len(coords[2]), len(coords[1]), len(coords[0])), dtype=torch.uint8, device=device)
    for index, nodule in enumerate(thorax.nodules, start=1):
        box = _box(coords, nodule.centre, nodule.diameter / 2 * 1.2 + 1)
        if box is None:
            continue
        fraction = _nodule_fraction(coords, box, nodule, 1e-3)
        sub = labels[box]
        sub[fraction >= 0.5] = index
    return labels


def _box(coords: tuple[Any, ...], centre: Any, reach: float) -> tuple[slice, slice, slice] | None:
    """Index ranges (z, y, x) of the grid within ``reach`` mm of ``centre``; None when it misses the grid."""
    low = np.asarray(centre, dtype=np.float64) - reach
    high = np.asarray(centre, dtype=np.float64) + reach
    return _range_box(coords, low, high)


def _range_box(coords: tuple[Any, ...], low: np.ndarray, high: np.ndarray) -> tuple[slice, slice, slice] | None:
    slices = []
    for axis in (2, 1, 0):
        values = coords[axis].cpu().numpy() if hasattr(coords[axis], "cpu") else np.asarray(coords[axis])
        start = int(np.searchsorted(values, low[axis], side="left"))
        stop = int(np.searchsorted(values, high[axis], side="right"))
        if stop <= start:
            return None
        slices.append(slice(start, stop))
    return slices[0], slices[1], slices[2]


def _tube(hu: Any, coords: tuple[Any, ...], seg: Segment, voxel: float, inside: Any, value: float) -> None:
    import torch

    a, b = np.asarray(seg.a), np.asarray(seg.b)
    reach = seg.radius + voxel
    box = _range_box(coords, np.minimum(a, b) - reach, np.maximum(a, b) + reach)
    if box is None or (inside is not None and not bool(inside[box].any())):
        return
    x, y, z = coords[0][box[2]], coords[1][box[1]], coords[2][box[0]]
    P = torch.stack(torch.broadcast_tensors(x[None, None, :], y[None, :, None], z[:, None, None]), dim=-1)
    A = torch.as_tensor(a, dtype=torch.float32, device=hu.device)
    AB = torch.as_tensor(b - a, dtype=torch.float32, device=hu.device)
    t = torch.clamp(((P - A) @ AB) / float(AB @ AB + 1e-9), 0, 1)
    distance = torch.linalg.norm(P - (A + t[..., None] * AB), dim=-1)
    fraction = torch.clamp((seg.radius - distance) / voxel + 0.5, 0, 1)
    if inside is not None:
        fraction = fraction * inside[box]
    hu[box] = hu[box] * (1 - fraction) + value * fraction


def _nodule_fraction(
    coords: tuple[Any, ...], box: tuple[slice, slice, slice], nodule: Nodule, voxel: float, radius_scale: float = 1.0
) -> Any:
    import torch

    x, y, z = coords[0][box[2]], coords[1][box[1]], coords[2][box[0]]
    cx, cy, cz = nodule.centre
    dx, dy, dz = x[None, None, :] - cx, y[None, :, None] - cy, z[:, None, None] - cz
    distance = torch.sqrt(dx**2 + dy**2 + dz**2)
    amplitude, lobes, phase_a, phase_b = nodule.lobulation
    azimuth = torch.atan2(dy, dx)
    polar = torch.atan2(torch.sqrt(dx**2 + dy**2), dz)
    radius = (
        nodule.diameter
        / 2
        * radius_scale
        * (1 + amplitude * torch.cos(lobes * azimuth + phase_a) * torch.sin(2 * polar + phase_b))
    )
    return torch.clamp((radius - distance) / voxel + 0.5, 0, 1)


def _nodule(hu: Any, coords: tuple[Any, ...], nodule: Nodule, voxel: float) -> None:
    box = _box(coords, nodule.centre, nodule.diameter / 2 * 1.2 + voxel)
    if box is None:
        return
    fraction = _nodule_fraction(coords, box, nodule, voxel)
    hu[box] = hu[box] * (1 - fraction) + nodule.hu * fraction
    if nodule.core_fraction > 0:
        core = _nodule_fraction(coords, box, nodule, voxel, radius_scale=nodule.core_fraction)
        hu[box] = hu[box] * (1 - core) + 30.0 * core
