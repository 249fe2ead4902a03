"""The training reference drift is measured against: a compact summary of each feature, kept in the run folder.

Per numeric feature: inner quantile bin edges and the training counts in those bins, mean/std/min/max
and null count; per categorical feature: the most frequent levels and their counts (the last bin is
"other", 0 in training); and one bounded sample of numeric rows for the KS test. Written at training
time as ``reference.json`` (kind ``json``, role ``reference``) and ``reference.parquet`` (kind
``parquet``, role ``reference_sample``), so a served model's reference is verified with its run.

Features are named as :func:`flatten_record` names them, so the training frame and the records a
server receives give the same columns (``pixels[3]``, ``merchant.country``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from seek.errors import IntegrityError

if TYPE_CHECKING:
    import polars as pl

    from seek.runs import RunFolder, VerifiedRun

JSON_FILE = "reference.json"
SAMPLE_FILE = "reference.parquet"
ROLE, SAMPLE_ROLE = "reference", "reference_sample"
FORMAT = 1


@dataclass
class FeatureReference:
    """One feature's training summary."""

    name: str
    kind: Literal["numeric", "categorical"]
    n: int
    nulls: int
    counts: list[float]
    edges: list[float] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)
    sample: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON form (the KS sample lives in the parquet file)."""
        out: dict[str, Any] = {"kind": self.kind, "n": self.n, "nulls": self.nulls, "counts": self.counts}
        if self.kind == "numeric":
            out.update(edges=self.edges, stats=self.stats)
        else:
            out["levels"] = self.levels
        return out


@dataclass
class Reference:
    """Every feature's summary; ``rows`` training rows were summarised."""

    rows: int
    features: dict[str, FeatureReference]
    sample_rows: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON form for reference.json."""
        return {
            "format": FORMAT,
            "rows": self.rows,
            "sample_rows": self.sample_rows,
            "features": {name: f.to_json() for name, f in self.features.items()},
        }


def flatten_record(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """One flat dict of scalars: lists become ``name[i]``, nested mappings ``name.key``."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_record(value, f"{name}."))
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    out.update(flatten_record(item, f"{name}[{i}]."))
                elif not isinstance(item, (list, tuple)):
                    out[f"{name}[{i}]"] = item
        else:
            out[name] = value
    return out


def features_frame(records: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Records (as a server receives them) as a frame of flat feature columns."""
    import polars as pl

    return pl.from_dicts([flatten_record(r) for r in records], infer_schema_length=None)


def build_reference(
    frame: pl.DataFrame, bins: int = 10, sample: int = 5000, max_levels: int = 50, seed: int = 0
) -> Reference:
    """Summarise ``frame``'s columns: quantile bins for numbers, top levels for the rest, a KS sample."""
    import numpy as np
    import polars as pl

    from seek.monitoring.drift import bin_counts

    features: dict[str, FeatureReference] = {}
    numeric: list[str] = []
    for name in frame.columns:
        column = frame.get_column(name)
        nulls = int(column.null_count())
        if column.dtype.is_numeric() and column.dtype != pl.Boolean:
            values = column.drop_nulls().cast(pl.Float64).to_numpy()
            values = values[np.isfinite(values)]
            if values.size == 0:
                continue
            qs = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
            edges = [float(e) for e in np.unique(qs)]
            counts = bin_counts(values, edges)
            stats = {
                "mean": float(values.mean()),
                "std": float(values.std()),
                "min": float(values.min()),
                "max": float(values.max()),
            }
            features[name] = FeatureReference(
                name, "numeric", int(values.size), nulls, [float(c) for c in counts], edges=edges, stats=stats
            )
            numeric.append(name)
        elif column.dtype in (pl.Utf8, pl.Boolean, pl.Categorical) or isinstance(column.dtype, pl.Enum):
            counted = column.drop_nulls().cast(pl.Utf8).value_counts(sort=True).head(max_levels)
            levels = [str(v) for v in counted.get_column(name).to_list()]
            counts_l = [float(c) for c in counted.get_column("count").to_list()]
            total = column.len() - nulls
            counts_l.append(float(total - sum(counts_l)))  # "other": levels past max_levels
            features[name] = FeatureReference(name, "categorical", total, nulls, counts_l, levels=levels)
    take = min(sample, frame.height)
    sampled = frame.select(numeric).sample(take, seed=seed, shuffle=True) if numeric and take else None
    if sampled is not None:
        for name in numeric:
            features[name].sample = [float(v) for v in sampled.get_column(name).drop_nulls().cast(pl.Float64)]
    return Reference(rows=frame.height, features=features, sample_rows=take if sampled is not None else 0)


def save_reference(run: RunFolder, reference: Reference, artifacts: Any) -> None:
    """Write reference.json + reference.parquet into ``run`` and record both with ``artifacts`` (a writer)."""
    import polars as pl

    run.write_json(JSON_FILE, reference.to_json())
    columns = {name: f.sample for name, f in reference.features.items() if f.kind == "numeric"}
    width = max((len(v) for v in columns.values()), default=0)
    padded = {name: [*v, *([None] * (width - len(v)))] for name, v in columns.items()}
    with run.writing(SAMPLE_FILE) as tmp:
        pl.DataFrame(padded, schema={n: pl.Float64 for n in padded}).write_parquet(tmp)
    meta = {"rows": reference.rows, "features": len(reference.features)}
    artifacts.record(ROLE, "json", JSON_FILE, meta=meta)
    artifacts.record(SAMPLE_ROLE, "parquet", SAMPLE_FILE, meta={"rows": reference.sample_rows})


def reference_from(data: Mapping[str, Any], sample: pl.DataFrame | None, where: str) -> Reference:
    """A Reference from reference.json's content and the sample frame (``where`` names the file in errors)."""
    if data.get("format") != FORMAT or not isinstance(data.get("features"), Mapping):
        raise IntegrityError(f"{where}: not a Seek drift reference (format {data.get('format')!r})")
    features: dict[str, FeatureReference] = {}
    for name, item in data["features"].items():
        try:
            f = FeatureReference(
                name=name,
                kind=item["kind"],
                n=int(item["n"]),
                nulls=int(item["nulls"]),
                counts=[float(c) for c in item["counts"]],
                edges=[float(e) for e in item.get("edges", [])],
                levels=[str(v) for v in item.get("levels", [])],
                stats={k: float(v) for k, v in item.get("stats", {}).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IntegrityError(f"{where}: feature {name!r} is malformed ({exc})") from None
        expected = len(f.edges) + 1 if f.kind == "numeric" else len(f.levels) + 1
        if len(f.counts) != expected or any(math.isnan(c) for c in f.counts):
            raise IntegrityError(f"{where}: feature {name!r} has {len(f.counts)} counts, expected {expected}")
        if sample is not None and f.kind == "numeric" and name in sample.columns:
            f.sample = [float(v) for v in sample.get_column(name).drop_nulls()]
        features[name] = f
    return Reference(rows=int(data.get("rows", 0)), features=features, sample_rows=int(data.get("sample_rows", 0)))


def load_reference(run_dir: str | os.PathLike[str] | VerifiedRun) -> Reference | None:
    """The reference of a run folder, hash-checked through the artifact loader (None if it has none)."""
    from seek.artifacts import artifacts, load_artifact
    from seek.runs import load_run

    run = load_run(run_dir) if isinstance(run_dir, (str, os.PathLike)) else run_dir
    recorded = artifacts(run)
    if ROLE not in recorded:
        return None
    data = load_artifact(run, ROLE)
    sample = load_artifact(run, SAMPLE_ROLE) if SAMPLE_ROLE in recorded else None
    return reference_from(data, sample, str(Path(run.path) / JSON_FILE))
