"""LUNA16-style evaluation: hits within the nodule radius, FROC, CPM, sensitivity by size and type.

Protocol (Setio et al., 2017): a detection is a hit when its centre lies within the radius of a
reference nodule; each nodule counts once (its best detection), further detections inside it are
ignored rather than counted as false positives. The FROC counts nodules of at least 3 mm (LUNA16's
reference set); detections on smaller nodules are ignored there, and the < 3 mm nodules get their own
sensitivity so the smallest are reported, not hidden. Sensitivities at 1/8 ... 8 false positives per
scan are the highest sensitivities reached with at most that many FPs (a step reading of the FROC
curve, see :func:`sensitivity_at`); their mean is the CPM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FP_RATES = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
SIZE_BINS = (("lt3mm", 0.0, 3.0), ("3_5mm", 3.0, 5.0), ("5_10mm", 5.0, 10.0), ("gt10mm", 10.0, float("inf")))
MIN_DIAMETER = 3.0


@dataclass
class StudyResult:
    """One study's reference nodules and detections (mm, LPS)."""

    nodules: list[dict[str, Any]]
    detections: list[dict[str, Any]]
    name: str = ""


@dataclass
class FrocResult:
    """The FROC curve, the operating points and everything the report tables show."""

    fps: np.ndarray
    sensitivity: np.ndarray
    thresholds: np.ndarray
    metrics: dict[str, float]
    #: Per reference nodule: study, index, diameter, kind, best probability (0 if missed), error (mm).
    nodules: list[dict[str, Any]] = field(default_factory=list)


def match(study: StudyResult) -> tuple[list[dict[str, Any]], list[float]]:
    """Best detection per nodule (probability, localisation error) and the false-positive probabilities."""
    centres = np.asarray([n["centre"] for n in study.nodules], dtype=np.float64).reshape(-1, 3)
    radii = np.asarray([n["diameter"] / 2 for n in study.nodules], dtype=np.float64)
    best = [{"probability": 0.0, "error_mm": float("nan"), "detection": None} for _ in study.nodules]
    false_positives: list[float] = []
    for det in sorted(study.detections, key=lambda d: -d["probability"]):
        point = np.asarray(det["centre_mm"], dtype=np.float64)
        if len(centres):
            distance = np.linalg.norm(centres - point, axis=1)
            inside = np.flatnonzero(distance <= radii)
        else:
            inside = np.array([], dtype=int)
        if len(inside) == 0:
            false_positives.append(float(det["probability"]))
            continue
        hit = int(inside[np.argmin(distance[inside])])
        if det["probability"] > best[hit]["probability"]:
            best[hit] = {"probability": float(det["probability"]), "error_mm": float(distance[hit]), "detection": det}
    return best, false_positives


def froc(studies: Sequence[StudyResult]) -> FrocResult:
    """FROC over all studies, CPM, sensitivities at the LUNA16 points and at 0.8 FP/scan, by size and type."""
    scans = max(1, len(studies))
    counted: list[float] = []  # best probability of each >= 3 mm nodule (0 = missed)
    fp_scores: list[float] = []
    per_nodule: list[dict[str, Any]] = []
    for s_index, study in enumerate(studies):
        best, false_positives = match(study)
        fp_scores += false_positives
        for n_index, (nodule, hit) in enumerate(zip(study.nodules, best, strict=True)):
            per_nodule.append(
                {
                    "study": study.name or str(s_index),
                    "index": n_index,
                    "diameter": float(nodule["diameter"]),
                    "kind": nodule.get("kind", ""),
                    "attachment": nodule.get("attachment", ""),
                    "centre": nodule["centre"],
                    **{k: v for k, v in hit.items() if k != "detection"},
                }
            )
            if nodule["diameter"] >= MIN_DIAMETER:
                counted.append(hit["probability"])
    total = max(1, len(counted))
    thresholds = np.unique(np.concatenate([np.asarray(counted), np.asarray(fp_scores), [np.inf]]))[::-1]
    thresholds = thresholds[thresholds > 0]
    hits = np.asarray(counted)
    fps_arr = np.asarray(fp_scores)
    sens = np.array([(hits >= t).sum() / total for t in thresholds])
    fps = np.array([(fps_arr >= t).sum() / scans for t in thresholds])
    metrics: dict[str, float] = {}
    for rate in FP_RATES:
        metrics[f"sensitivity_at_{_key(rate)}_fp"] = sensitivity_at(fps, sens, rate)
    metrics["froc_cpm"] = float(np.mean([metrics[f"sensitivity_at_{_key(r)}_fp"] for r in FP_RATES]))
    metrics["sensitivity_at_0_8_fp"] = sensitivity_at(fps, sens, 0.8)
    operating = operating_threshold(fps, thresholds, 1.0)
    found = [n for n in per_nodule if n["probability"] >= operating and n["probability"] > 0]
    errors = [n["error_mm"] for n in found if n["diameter"] >= MIN_DIAMETER]
    metrics["mean_localisation_error_mm"] = float(np.mean(errors)) if errors else float("nan")
    metrics["operating_threshold_1fp"] = float(operating) if np.isfinite(operating) else 1.0
    for name, low, high in SIZE_BINS:
        group = [n for n in per_nodule if low <= n["diameter"] < high]
        metrics[f"sensitivity_{name}_at_1_fp"] = _share(group, operating)
        metrics[f"nodules_{name}"] = float(len(group))
    for kind in ("solid", "part-solid", "ground-glass"):
        group = [n for n in per_nodule if n["kind"] == kind and n["diameter"] >= MIN_DIAMETER]
        metrics[f"sensitivity_{kind.replace('-', '_')}_at_1_fp"] = _share(group, operating)
    metrics["test_nodules"] = float(len(per_nodule))
    metrics["test_nodules_ge3mm"] = float(len(counted))
    metrics["test_studies"] = float(len(studies))
    return FrocResult(fps, sens, thresholds, metrics, per_nodule)


def sensitivity_at(fps: np.ndarray, sens: np.ndarray, rate: float) -> float:
    """The highest sensitivity the detector reaches with at most ``rate`` false positives per scan.

    A step reading of the FROC curve: no credit is interpolated towards a threshold that costs more FPs
    than ``rate`` (with few test scans LUNA16's linear interpolation would credit sensitivity the
    detector never reaches at that FP rate).
    """
    allowed = sens[fps <= rate + 1e-12]
    return float(allowed.max()) if len(allowed) else 0.0


def operating_threshold(fps: np.ndarray, thresholds: np.ndarray, rate: float) -> float:
    """The lowest threshold whose false positives per scan stay at or under ``rate``."""
    allowed = thresholds[fps <= rate]
    return float(allowed.min()) if len(allowed) else float("inf")


def _share(group: list[dict[str, Any]], threshold: float) -> float:
    if not group:
        return float("nan")
    return float(np.mean([n["probability"] >= threshold and n["probability"] > 0 for n in group]))


def _key(rate: float) -> str:
    return f"{rate:g}".replace(".", "_")


def table_by_size(result: FrocResult) -> str:
    """Markdown table: nodules, found at the 1 FP/scan operating point, sensitivity, by size and by type."""
    op = result.metrics["operating_threshold_1fp"]
    rows = ["| group | nodules | found at 1 FP/scan | sensitivity |", "|---|---|---|---|"]
    groups: list[tuple[str, list[dict[str, Any]]]] = [
        (label, [n for n in result.nodules if low <= n["diameter"] < high])
        for label, low, high in (("< 3 mm", 0, 3), ("3-5 mm", 3, 5), ("5-10 mm", 5, 10), ("> 10 mm", 10, 1e9))
    ]
    groups += [
        (kind, [n for n in result.nodules if n["kind"] == kind and n["diameter"] >= 3])
        for kind in ("solid", "part-solid", "ground-glass")
    ]
    groups += [
        (f"{a} (>= 3 mm)", [n for n in result.nodules if n["attachment"] == a and n["diameter"] >= 3])
        for a in ("isolated", "juxta-pleural", "juxta-vascular")
    ]
    for label, group in groups:
        found = sum(1 for n in group if n["probability"] >= op and n["probability"] > 0)
        share = f"{found / len(group):.3f}" if group else "-"
        rows.append(f"| {label} | {len(group)} | {found} | {share} |")
    return "\n".join(rows)


def froc_table(metrics: dict[str, float]) -> str:
    """Markdown: the seven LUNA16 operating points, CPM and sensitivity at 0.8 FP/scan."""
    head = " | ".join(f"{r:g}" for r in FP_RATES)
    values = " | ".join(f"{metrics[f'sensitivity_at_{_key(r)}_fp']:.3f}" for r in FP_RATES)
    return (
        f"| FP/scan | {head} | CPM | sens@0.8 |\n|---|{'---|' * (len(FP_RATES) + 2)}\n"
        f"| sensitivity | {values} | {metrics['froc_cpm']:.3f} | {metrics['sensitivity_at_0_8_fp']:.3f} |"
    )


def froc_figure(result: FrocResult) -> Any:
    """The FROC curve (log FP axis) with the LUNA16 operating points marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2))
    if len(result.fps):
        ax.plot(np.maximum(result.fps, 1e-3), result.sensitivity, color="tab:blue", drawstyle="steps-post")
    points = [result.metrics[f"sensitivity_at_{_key(r)}_fp"] for r in FP_RATES]
    ax.plot(FP_RATES, points, "o", color="tab:red", label=f"CPM {result.metrics['froc_cpm']:.3f}")
    ax.set_xscale("log")
    ax.set_xlim(0.1, 10)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("false positives per scan")
    ax.set_ylabel("sensitivity (nodules >= 3 mm)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    return fig
