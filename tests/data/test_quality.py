"""ISO/IEC 25012 quality report: dimension scores on data with known defects, thresholds, files written."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from seek.data.dedup import ExactDuplicates
from seek.data.quality import Thresholds, quality_report
from seek.data.schema import Field, Rule, Schema
from seek.data.steps import Pipeline
from seek.errors import ConfigError

NOW = dt.datetime(2025, 1, 1)


def shipments() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [1, 2, 3, 4, 4],
            "weight": [1.0, None, -3.0, 2.0, 2.0],
            "pickup": [dt.datetime(2024, 12, 1)] * 3 + [dt.datetime(2020, 1, 1)] * 2,
            "delivery": [
                dt.datetime(2024, 12, 2),
                dt.datetime(2024, 11, 1),
                dt.datetime(2024, 12, 3),
                dt.datetime(2020, 1, 2),
                dt.datetime(2020, 1, 2),
            ],
        }
    )


SCHEMA = Schema(
    [
        Field("id", "int", required=True),
        Field("weight", "float", required=True, min=0),
        Field("pickup", "datetime", not_future=True),
    ],
    rules=[Rule("delivery_after_pickup", pl.col("delivery") >= pl.col("pickup"), "delivery after pickup")],
)


def test_dimension_scores_match_the_known_defects() -> None:
    report = quality_report(shipments(), schema=SCHEMA, now=NOW, thresholds=Thresholds(max_age_days=365))
    dims = {d.name: d for d in report.dimensions}
    assert dims["completeness"].score == pytest.approx(1 - 1 / 20)
    assert dims["completeness"].details["missing_cells"] == 1
    assert dims["uniqueness"].score == pytest.approx(4 / 5) and dims["uniqueness"].details["duplicates"] == 1
    assert dims["validity"].score == pytest.approx(3 / 5)
    assert dims["validity"].details["reasons"] == {
        "weight: -3.0 below the minimum 0": 1,
        "weight: required value is missing": 1,
    }
    assert dims["consistency"].score == pytest.approx(4 / 5)
    assert dims["currentness"].score == pytest.approx(3 / 5) and dims["currentness"].details["column"] == "pickup"
    assert dims["accuracy"].score is None
    assert not report.passed
    assert sorted(line.split()[0] for line in report.failures()) == ["consistency", "uniqueness", "validity"]


def test_thresholds_parse_overrides_and_reject_unknown_names() -> None:
    t = Thresholds.parse(["uniqueness=0.5", "accuracy=none"])
    assert t.uniqueness == 0.5 and t.accuracy is None
    with pytest.raises(ConfigError, match="NAME=VALUE"):
        Thresholds.parse(["speed=1"])
    with pytest.raises(ConfigError, match="not a number"):
        Thresholds.parse(["uniqueness=high"])


def test_report_files_json_markdown_png_and_pipeline_counts_add_up(tmp_path: Path) -> None:
    frame = shipments()
    result = Pipeline([ExactDuplicates(["id"])]).run(frame)
    report = quality_report(result.kept, schema=SCHEMA, now=NOW, pipeline=result, source="ship.csv")
    paths = report.save(tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["pipeline"]["rows_in"] == data["pipeline"]["rows_kept"] + data["pipeline"]["rows_rejected"] == 5
    assert set(data["dimensions"]) == {
        "completeness",
        "uniqueness",
        "validity",
        "consistency",
        "accuracy",
        "currentness",
    }
    assert "| delivery_after_pickup" not in paths["markdown"].read_text()
    assert "rows in 5 = kept 4 + rejected 1" in paths["markdown"].read_text()
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_label_noise_estimate_finds_flipped_labels() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    clean = quality_report(pl.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y}), label="y", now=NOW)
    y_noisy = y.copy()
    y_noisy[:60] = 1 - y_noisy[:60]
    noisy = quality_report(pl.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y_noisy}), label="y", now=NOW)
    clean_noise = clean.dimensions[4].details["noise_rate"]
    noisy_noise = noisy.dimensions[4].details["noise_rate"]
    assert clean_noise < 0.03 and 0.06 < noisy_noise < 0.14


def test_a_rule_that_cannot_run_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="rule 'r' cannot run"):
        quality_report(pl.DataFrame({"a": [1]}), rules=[Rule("r", pl.col("missing") > 0)])
