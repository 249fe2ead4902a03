"""LUNA16-style scoring: hits within the radius, one hit per nodule, FROC interpolation, CPM, size bins."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seek_medical.evaluate import StudyResult, froc, match, sensitivity_at

NODULES = [
    {"centre": [0, 0, 0], "diameter": 6.0, "kind": "solid", "attachment": "isolated"},
    {"centre": [30, 0, 0], "diameter": 4.0, "kind": "ground-glass", "attachment": "juxta-pleural"},
    {"centre": [60, 0, 0], "diameter": 2.5, "kind": "solid", "attachment": "isolated"},
]


def test_a_hit_lies_within_the_radius_and_extra_hits_are_not_false_positives():
    detections = [
        {"centre_mm": [2.9, 0, 0], "probability": 0.9},  # inside the 6 mm nodule
        {"centre_mm": [1.0, 0, 0], "probability": 0.5},  # the same nodule again: ignored
        {"centre_mm": [32.1, 0, 0], "probability": 0.6},  # outside the 4 mm nodule's 2 mm radius
    ]
    best, false_positives = match(StudyResult(NODULES, detections))
    assert best[0]["probability"] == 0.9 and best[0]["error_mm"] == pytest.approx(2.9)
    assert best[1]["probability"] == 0.0
    assert false_positives == [0.6]


def test_froc_points_cpm_and_small_nodules_reported_apart():
    studies = [
        StudyResult(
            NODULES,
            [
                {"centre_mm": [0, 0, 0], "probability": 0.9},
                {"centre_mm": [90, 0, 0], "probability": 0.8},
                {"centre_mm": [30, 1, 0], "probability": 0.4},
                {"centre_mm": [60, 0, 0], "probability": 0.7},  # on the 2.5 mm nodule: neither TP nor FP of the FROC
            ],
        ),
        StudyResult(NODULES[:1], []),
    ]
    result = froc(studies)
    m = result.metrics
    # >= 3 mm: three nodules; at 0.9 one hit with 0 FP, at 0.8 one FP (0.5/scan), at 0.4 two hits
    assert m["test_nodules_ge3mm"] == 3
    assert m["sensitivity_at_8_fp"] == pytest.approx(2 / 3)
    assert m["sensitivity_at_0_125_fp"] == pytest.approx(1 / 3)
    assert m["sensitivity_at_0_5_fp"] == pytest.approx(2 / 3)
    assert m["froc_cpm"] == pytest.approx(
        np.mean(
            [m[k] for k in m if k.startswith("sensitivity_at_") and k.endswith("_fp") and k != "sensitivity_at_0_8_fp"]
        )
    )
    assert m["sensitivity_lt3mm_at_1_fp"] == 1.0 and m["nodules_lt3mm"] == 1
    assert m["mean_localisation_error_mm"] == pytest.approx(np.mean([0.0, 1.0]))
    assert {"froc_cpm", "sensitivity_at_0_8_fp", "sensitivity_at_1_fp", "mean_localisation_error_mm"} <= set(m)


def test_sensitivity_at_a_rate_never_credits_a_threshold_costing_more_fps():
    fps = np.array([0.0, 1.0, 2.0])
    sens = np.array([0.2, 0.6, 0.8])
    assert sensitivity_at(fps, sens, 0.5) == pytest.approx(0.2)
    assert sensitivity_at(fps, sens, 1.0) == pytest.approx(0.6)
    assert sensitivity_at(fps, sens, 8.0) == pytest.approx(0.8)
    assert math.isclose(sensitivity_at(np.array([1.0]), np.array([0.5]), 0.125), 0.0)
