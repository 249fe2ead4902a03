"""The training reference written into run folders (seek.monitoring.reference)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl
import pytest

from seek.app import App, AppConfig, Report, RunContext
from seek.errors import IntegrityError
from seek.monitoring.drift import drift_table
from seek.monitoring.reference import (
    build_reference,
    features_frame,
    flatten_record,
    load_reference,
    reference_from,
)
from seek.runner import execute


class _Config(AppConfig):
    explicit: bool = False


class _TableApp(App[_Config]):
    """Validates a built-in table; optionally gives its own training features."""

    name: ClassVar[str] = "toy-reference"
    summary: ClassVar[str] = "toy"
    Config: ClassVar[type[AppConfig]] = _Config

    def run(self, config: _Config, ctx: RunContext) -> Report:
        rng = np.random.default_rng(0)
        frame = pl.DataFrame({"x": rng.normal(size=2_000), "kind": ["a", "b"] * 1_000})
        ctx.validate(frame)
        if config.explicit:
            ctx.reference([{"vec": [float(v), 2 * float(v)]} for v in frame["x"]])
        return Report(metrics={"n": 1.0})


def test_records_flatten_to_the_same_columns_as_training_features() -> None:
    record = {"pixels": [1, 2], "merchant": {"country": "FR"}, "amount": 3.5}
    assert flatten_record(record) == {"pixels[0]": 1, "pixels[1]": 2, "merchant.country": "FR", "amount": 3.5}
    assert features_frame([record, record]).columns == ["pixels[0]", "pixels[1]", "merchant.country", "amount"]


def test_summary_has_quantile_bins_levels_and_a_bounded_sample() -> None:
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"x": rng.normal(size=10_000), "c": rng.choice(["u", "v"], 10_000).tolist()})
    ref = build_reference(frame, bins=10, sample=1_000)
    x, c = ref.features["x"], ref.features["c"]
    assert x.kind == "numeric" and len(x.edges) == 9 and len(x.counts) == 10
    assert sum(x.counts) == 10_000 and max(x.counts) - min(x.counts) <= 2  # equal-frequency bins
    assert len(x.sample) == 1_000 == ref.sample_rows
    assert c.kind == "categorical" and sorted(c.levels) == ["u", "v"] and c.counts[-1] == 0  # "other"


def test_constant_column_keeps_one_edge() -> None:
    ref = build_reference(pl.DataFrame({"z": [0.0] * 100}))
    assert ref.features["z"].edges == [0.0] and ref.features["z"].counts == [100.0, 0.0]


def test_runner_writes_the_validated_input_as_reference(tmp_path: Path) -> None:
    result = execute(_TableApp(), _Config(), out=tmp_path / "run", device="cpu", show_progress=False)
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert manifest["artifacts"]["reference"]["kind"] == "json"
    assert manifest["artifacts"]["reference_sample"]["kind"] == "parquet"
    ref = load_reference(result.path)
    assert ref is not None and set(ref.features) == {"x", "kind"} and ref.rows == 2_000
    assert len(ref.features["x"].sample) == 2_000
    shifted = drift_table(ref, {"x": np.random.default_rng(1).normal(2.0, 1.0, 1_000)})
    assert shifted.alerts == ["x"]


def test_features_given_by_the_app_replace_the_input_reference(tmp_path: Path) -> None:
    result = execute(_TableApp(), _Config(explicit=True), out=tmp_path / "run", device="cpu", show_progress=False)
    ref = load_reference(result.path)
    assert ref is not None and set(ref.features) == {"vec[0]", "vec[1]"}


def test_a_tampered_reference_is_refused(tmp_path: Path) -> None:
    result = execute(_TableApp(), _Config(), out=tmp_path / "run", device="cpu", show_progress=False)
    path = result.path / "reference.json"
    data = json.loads(path.read_text())
    data["features"]["x"]["counts"][0] += 1
    path.write_text(json.dumps(data))
    with pytest.raises(IntegrityError):
        load_reference(result.path)


def test_malformed_reference_content_names_the_feature() -> None:
    bad: dict[str, Any] = {"format": 1, "features": {"x": {"kind": "numeric", "n": 3, "nulls": 0, "counts": [1]}}}
    bad["features"]["x"]["edges"] = [0.5, 1.0]
    with pytest.raises(IntegrityError, match="'x' has 1 counts, expected 3"):
        reference_from(bad, None, "reference.json")
