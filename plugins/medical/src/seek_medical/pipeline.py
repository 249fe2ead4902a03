"""Held-out evaluation through the whole DICOM path: simulate, write DICOM, read, resample, detect, score."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seek_medical.crf import CRFConfig, dice
from seek_medical.detect import Detection, detect
from seek_medical.dicom import read_series
from seek_medical.evaluate import FrocResult, StudyResult, froc
from seek_medical.preprocess import resample_isotropic
from seek_medical.simulate import simulate_study, write_study


@dataclass
class DetectorSettings:
    """How a trained detector is applied; stored with the weights so serving applies it the same way."""

    spacing_mm: float
    window: int
    overlap: float
    threshold: float
    max_candidates: int
    lung_filter: bool
    crf: dict[str, Any]

    def run(self, model: Any, volume: Any, device: str = "cpu", use_crf: bool = True) -> Detection:
        """Detect nodules in a source Volume with these settings."""
        crf = CRFConfig(**self.crf)
        return detect(
            model,
            volume,
            self.spacing_mm,
            self.window,
            self.overlap,
            self.threshold,
            self.max_candidates,
            device,
            crf if use_crf and crf.enabled else None,
            self.lung_filter,
        )


@dataclass
class Evaluation:
    """FROC plus segmentation quality (with and without the CRF) and what the report shows."""

    froc: FrocResult
    dice_crf: list[float] = field(default_factory=list)
    dice_no_crf: list[float] = field(default_factory=list)
    diameter_error_crf: list[float] = field(default_factory=list)
    diameter_error_no_crf: list[float] = field(default_factory=list)
    seconds_per_study: list[float] = field(default_factory=list)
    found_panels: list[dict[str, Any]] = field(default_factory=list)
    missed_panels: list[dict[str, Any]] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        """Flat metrics for metrics.json."""
        out = dict(self.froc.metrics)
        out.update(
            dice_crf=_mean(self.dice_crf),
            dice_no_crf=_mean(self.dice_no_crf),
            diameter_error_crf_mm=_mean(self.diameter_error_crf),
            diameter_error_no_crf_mm=_mean(self.diameter_error_no_crf),
            time_per_study_s=_mean(self.seconds_per_study),
        )
        return out


def evaluate_held_out(
    model: Any, settings: DetectorSettings, seeds: list[int], simulation: Any, device: str, progress: Any = None
) -> Evaluation:
    """Simulate each held-out study, write and read it back as DICOM, detect and score it."""
    from seek_medical.figures import nodule_panels

    results: list[StudyResult] = []
    evaluation = Evaluation(froc=froc([]))
    iterator = progress(seeds, total=len(seeds), description="evaluating") if progress else seeds
    with tempfile.TemporaryDirectory(prefix="seek-medical-eval-") as tmp:
        for seed in iterator:
            study = simulate_study(
                int(seed),
                simulation.fov_mm,
                simulation.z_extent_mm,
                tuple(simulation.nodules_per_study),
                tuple(simulation.diameter_mm),
                thickness=tuple(simulation.thickness_mm),
            )
            folder = Path(tmp) / f"study-{seed}"
            write_study(study, folder)
            source = read_series(folder)
            started = time.perf_counter()
            detection = settings.run(model, source, device)
            evaluation.seconds_per_study.append(time.perf_counter() - started)
            _, labels_iso = resample_isotropic(source, settings.spacing_mm, study.labels)
            truth = study.ground_truth()["nodules"]
            result = StudyResult(truth, [f.to_json() for f in detection.findings], name=f"study-{seed}")
            results.append(result)
            _segmentation_scores(evaluation, detection, truth, labels_iso, settings)
            found, missed = _found_and_missed(result, detection)
            evaluation.found_panels += nodule_panels(detection.iso, found, settings.spacing_mm, True, 4)
            evaluation.missed_panels += nodule_panels(detection.iso, missed, settings.spacing_mm, False, 4)
            source.hu = np.empty((0, 0, 0), dtype=np.int16)  # release the volume before the next study
    evaluation.froc = froc(results)
    return evaluation


def _found_and_missed(result: StudyResult, detection: Detection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from seek_medical.evaluate import match

    best, _ = match(result)
    found, missed = [], []
    for nodule, hit in zip(result.nodules, best, strict=True):
        if hit["detection"] is not None and hit["probability"] > 0:
            found.append(
                {
                    **nodule,
                    "probability": hit["probability"],
                    "detection_centre": hit["detection"]["centre_mm"],
                    "detection_diameter": hit["detection"]["diameter_mm"],
                }
            )
        else:
            missed.append(nodule)
    return found, missed


def _segmentation_scores(
    evaluation: Evaluation,
    detection: Detection,
    truth: list[dict[str, Any]],
    labels_iso: np.ndarray,
    settings: DetectorSettings,
) -> None:
    """Dice and diameter error of each hit nodule's mask, CRF against thresholded probability."""
    from seek_medical.detect import measure, threshold_candidate

    iso = detection.iso
    for finding, mask, box in zip(detection.findings, detection.masks, detection.boxes, strict=True):
        kji = iso.world_to_index(finding.centre_mm)[::-1]
        for nodule in truth:
            if np.linalg.norm(np.asarray(nodule["centre"]) - np.asarray(finding.centre_mm)) > nodule["diameter"] / 2:
                continue
            reference = labels_iso == nodule["label"]
            plain, plain_box = threshold_candidate(
                detection.probability, kji, finding.predicted_diameter_mm / settings.spacing_mm
            )
            evaluation.dice_no_crf.append(dice(_full(plain, plain_box, iso.shape), reference))
            evaluation.dice_crf.append(dice(_full(mask, box, iso.shape), reference))
            evaluation.diameter_error_no_crf.append(abs(measure(plain, settings.spacing_mm)[0] - nodule["diameter"]))
            evaluation.diameter_error_crf.append(abs(measure(mask, settings.spacing_mm)[0] - nodule["diameter"]))
            break


def _full(mask: np.ndarray, box: tuple[slice, ...], shape: tuple[int, ...]) -> np.ndarray:
    full = np.zeros(shape, dtype=bool)
    full[box] = mask
    return full


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")
