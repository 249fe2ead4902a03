"""Data-quality report on the inherent ISO/IEC 25012 dimensions: JSON, Markdown and a missingness PNG."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seek.data.schema import Rule, Schema, SchemaStep
from seek.data.steps import Pipeline, PipelineResult
from seek.errors import ConfigError
from seek.io import atomic_path, atomic_write_json, atomic_write_text

if TYPE_CHECKING:
    import polars as pl

DIMENSIONS = ("completeness", "uniqueness", "validity", "consistency", "accuracy", "currentness")


@dataclass
class Thresholds:
    """Minimum score per dimension (0..1); None means report only. ``max_age_days`` defines "current"."""

    completeness: float | None = 0.95
    uniqueness: float | None = 0.99
    validity: float | None = 0.95
    consistency: float | None = 0.99
    accuracy: float | None = None
    currentness: float | None = None
    max_age_days: float = 365.0

    @classmethod
    def from_mapping(cls, values: Mapping[str, float | None], source: str = "thresholds") -> Thresholds:
        """Build from a dict such as an App's ``data_thresholds``; unknown names raise ConfigError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown threshold {unknown[0]!r}; known: {sorted(known)}")
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def parse(cls, items: Sequence[str], base: Thresholds | None = None) -> Thresholds:
        """Apply ``name=value`` overrides (``value`` may be ``none``); unknown names raise ConfigError."""
        out = base or cls()
        known = {f.name for f in fields(cls)}
        for item in items:
            name, _, value = item.partition("=")
            if name not in known or not value:
                raise ConfigError(f"--threshold {item!r}: expected NAME=VALUE with NAME one of {sorted(known)}")
            try:
                setattr(out, name, None if value.lower() == "none" else float(value))
            except ValueError:
                raise ConfigError(f"--threshold {item!r}: {value!r} is not a number") from None
        return out


@dataclass
class Dimension:
    """One dimension's score (None when the data cannot measure it), its threshold and the evidence."""

    name: str
    score: float | None
    threshold: float | None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True unless a threshold is set and the measured score is below it."""
        return self.score is None or self.threshold is None or self.score >= self.threshold


@dataclass
class QualityReport:
    """The measured dimensions of one data set, plus the cleaning pipeline's counts when there was one."""

    source: str
    rows: int
    columns: int
    dimensions: list[Dimension]
    missing_by_column: dict[str, float]
    pipeline: dict[str, Any] | None = None
    created: str = ""

    @property
    def passed(self) -> bool:
        """True when every dimension meets its threshold."""
        return all(d.passed for d in self.dimensions)

    def failures(self) -> list[str]:
        """One line per failed dimension."""
        return [f"{d.name} {d.score:.4f} < {d.threshold}" for d in self.dimensions if not d.passed]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "source": self.source,
            "created": self.created,
            "rows": self.rows,
            "columns": self.columns,
            "passed": self.passed,
            "failures": self.failures(),
            "dimensions": {d.name: asdict(d) | {"passed": d.passed} for d in self.dimensions},
            "missing_by_column": self.missing_by_column,
            "pipeline": self.pipeline,
        }

    def to_markdown(self) -> str:
        """A Markdown report: dimension table, missingness, pipeline steps."""
        lines = [
            f"# Data quality: {self.source}",
            "",
            f"{self.rows} rows, {self.columns} columns. "
            f"Result: **{'pass' if self.passed else 'FAIL'}** (ISO/IEC 25012 inherent dimensions).",
            "",
        ]
        lines += ["| dimension | score | threshold | result | evidence |", "|---|---|---|---|---|"]
        for d in self.dimensions:
            score = "n/a" if d.score is None else f"{d.score:.4f}"
            result = "-" if d.score is None or d.threshold is None else ("pass" if d.passed else "FAIL")
            lines.append(
                f"| {d.name} | {score} | {d.threshold if d.threshold is not None else '-'} | {result} | "
                f"{_evidence(d)} |"
            )
        lines += [
            "",
            "## Missing values per column",
            "",
            "![missingness](missingness.png)",
            "",
            "| column | missing |",
            "|---|---|",
        ]
        lines += [f"| {c} | {v:.2%} |" for c, v in self.missing_by_column.items()]
        if self.pipeline:
            lines += [
                "",
                "## Cleaning steps",
                "",
                f"rows in {self.pipeline['rows_in']} = kept {self.pipeline['rows_kept']}"
                f" + rejected {self.pipeline['rows_rejected']}",
                "",
                "| step | checks | in | kept | rejected | changed | top reason |",
                "|---|---|---|---|---|---|---|",
            ]
            for s in self.pipeline["steps"]:
                top = next(iter(s["reasons"]), "")
                lines.append(
                    f"| {s['name']} | {s['checks']} | {s['rows_in']} | {s['kept']} | {s['rejected']} | "
                    f"{s['changed']} | {top} |"
                )
        return "\n".join(lines) + "\n"

    def save(self, directory: str | os.PathLike[str]) -> dict[str, Path]:
        """Write quality.json, quality.md and missingness.png into ``directory`` (atomically)."""
        directory = Path(directory)
        paths = {
            "json": atomic_write_json(directory / "quality.json", self.to_dict()),
            "markdown": atomic_write_text(directory / "quality.md", self.to_markdown()),
            "png": directory / "missingness.png",
        }
        _missingness_png(self.missing_by_column, paths["png"], self.source)
        return paths


def _evidence(d: Dimension) -> str:
    keep = {k: v for k, v in d.details.items() if not isinstance(v, (dict, list)) or len(json.dumps(v)) < 120}
    return "; ".join(f"{k}={v}" for k, v in keep.items()).replace("|", "/")


def _missingness_png(missing: dict[str, float], target: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(missing) or ["(no columns)"]
    values = [missing.get(n, 0.0) * 100 for n in names]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(names) + 1.5))
    ax.barh(names, values, color=["#c0392b" if v > 5 else "#2e86c1" for v in values])
    ax.set_xlabel("missing values (%)")
    ax.set_xlim(0, max(100.0, max(values)))
    ax.invert_yaxis()
    ax.set_title(f"Missing values per column: {Path(title).name}")
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def quality_report(
    frame: pl.DataFrame,
    schema: Schema | None = None,
    rules: Sequence[Rule] = (),
    key: Sequence[str] | None = None,
    label: str | None = None,
    timestamp: str | None = None,
    thresholds: Thresholds | None = None,
    now: dt.datetime | None = None,
    pipeline: PipelineResult | None = None,
    source: str = "data",
    max_label_rows: int = 20_000,
    lines: pl.Series | None = None,
) -> QualityReport:
    """Measure each dimension the data allows; schema rules are added to ``rules``."""
    thresholds = thresholds or Thresholds()
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    missing = _missing_by_column(frame)
    rules = [*(schema.rules if schema else ()), *rules]
    if timestamp is None and schema is not None and schema.timestamp_fields:
        timestamp = schema.timestamp_fields[0]
    dims = [
        _completeness(frame, missing, schema, thresholds),
        _uniqueness(frame, key, thresholds, lines),
        _validity(frame, schema, now, source, thresholds, _unreadable(pipeline), lines),
        _consistency(frame, rules, thresholds),
        _accuracy(frame, label, thresholds, max_label_rows),
        _currentness(frame, timestamp, schema, now, thresholds),
    ]
    return QualityReport(
        source=source,
        rows=frame.height,
        columns=frame.width,
        dimensions=dims,
        missing_by_column=missing,
        pipeline=pipeline.counts() if pipeline else None,
        created=now.isoformat(timespec="seconds"),
    )


def _missing_by_column(frame: pl.DataFrame) -> dict[str, float]:
    import polars as pl

    if frame.height == 0:
        return {c: 0.0 for c in frame.columns}
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        blank = col.is_null() | (col.str.strip_chars() == "") if dtype == pl.String else col.is_null()
        if dtype.is_float():
            blank = blank | col.is_nan()
        exprs.append(blank.mean().alias(name))
    row = frame.select(exprs).row(0, named=True)
    return {k: round(float(v), 6) for k, v in row.items()}


def _completeness(frame: pl.DataFrame, missing: dict[str, float], schema: Schema | None, t: Thresholds) -> Dimension:
    score = 1 - sum(missing.values()) / len(missing) if missing else None
    details: dict[str, Any] = {"missing_cells": round(sum(v * frame.height for v in missing.values()))}
    if schema:
        required = [f.name for f in schema.fields if f.required and f.name in missing]
        details["required_fields_missing"] = {n: missing[n] for n in required if missing[n] > 0}
    return Dimension("completeness", score, t.completeness, details)


def _uniqueness(
    frame: pl.DataFrame, key: Sequence[str] | None, t: Thresholds, lines: pl.Series | None = None
) -> Dimension:
    import polars as pl

    if frame.height == 0:
        return Dimension("uniqueness", None, t.uniqueness)
    subset = list(key) if key else frame.columns
    distinct = frame.select(subset).n_unique()
    details: dict[str, Any] = {"duplicates": frame.height - distinct, "on": "rows" if not key else ",".join(subset)}
    if distinct < frame.height:
        numbered = frame.select(subset).with_columns(_row_numbers(frame.height, lines).alias("__line"))
        repeats = numbered.filter(pl.struct(subset).is_duplicated() & ~pl.struct(subset).is_first_distinct())
        details["rows"] = [
            {"row": int(r["__line"]), "field": ",".join(subset), "reason": f"repeats {_values(r, subset)}"}
            for r in repeats.head(_EXAMPLES).iter_rows(named=True)
        ]
    return Dimension("uniqueness", distinct / frame.height, t.uniqueness, details)


_EXAMPLES = 20


def _row_numbers(height: int, lines: pl.Series | None) -> pl.Series:
    """The file's line number of each frame row when known, else the 1-based row number."""
    import polars as pl

    if lines is not None and lines.len() == height:
        return lines.cast(pl.Int64)
    return pl.Series(range(1, height + 1), dtype=pl.Int64)


def _values(row: dict[str, Any], columns: Sequence[str]) -> str:
    return ", ".join(f"{c}={row[c]!r}" for c in columns) if len(columns) <= 3 else "an earlier row"


def _unreadable(pipeline: PipelineResult | None) -> int:
    """Records the reader itself had to reject (ragged, stray quotes, bad bytes): step ``read``."""
    if pipeline is None:
        return 0
    return sum(step.rejected for step in pipeline.steps if step.name == "read")


def _validity(
    frame: pl.DataFrame,
    schema: Schema | None,
    now: dt.datetime,
    source: str,
    t: Thresholds,
    unreadable: int = 0,
    lines: pl.Series | None = None,
) -> Dimension:
    if schema is None and unreadable == 0:
        return Dimension("validity", None, t.validity, {"note": "no schema given"})
    if schema is None or frame.height == 0:
        total = frame.height + unreadable
        details = {"unreadable_records": unreadable, "note": "no schema given: only unreadable records counted"}
        return Dimension("validity", frame.height / total if total else None, t.validity, details)
    result = Pipeline([SchemaStep(schema, now=now, source=source)]).run(frame)
    step = result.steps[0]
    total = step.rows_in + unreadable
    details = {"invalid_rows": step.rejected, "unreadable_records": unreadable, "reasons": step.reasons}
    if result.rejected.height:
        numbers = _row_numbers(frame.height, lines)
        details["rows"] = [
            {"row": int(numbers[int(r["row"]) - 1]), "field": str(r["reason"]).split(":", 1)[0], "reason": r["reason"]}
            for r in result.rejected.head(_EXAMPLES).iter_rows(named=True)
        ]
    return Dimension("validity", step.kept / total, t.validity, details)


def _consistency(frame: pl.DataFrame, rules: Sequence[Rule], t: Thresholds) -> Dimension:
    import polars as pl

    if not rules or frame.height == 0:
        return Dimension("consistency", None, t.consistency, {"note": "no cross-field rules declared"})
    per_rule: dict[str, Any] = {}
    broken_any = pl.lit(False)
    for rule in rules:
        try:
            broken = frame.select((~rule.expr).fill_null(False).sum()).item()
        except pl.exceptions.PolarsError as exc:
            raise ConfigError(
                f"consistency rule {rule.name!r} cannot run on this data: {str(exc).splitlines()[0]}"
            ) from None
        per_rule[rule.name] = {"broken": int(broken), "description": rule.description}
        broken_any = broken_any | (~rule.expr).fill_null(False)
    broken_rows = frame.select(broken_any.sum()).item()
    return Dimension(
        "consistency",
        1 - broken_rows / frame.height,
        t.consistency,
        {"rows_breaking_a_rule": int(broken_rows), "rules": per_rule},
    )


def _accuracy(frame: pl.DataFrame, label: str | None, t: Thresholds, max_rows: int) -> Dimension:
    if label is None or label not in frame.columns:
        return Dimension("accuracy", None, t.accuracy, {"note": "no label column"})
    from seek.data.label_noise import label_noise_estimate

    estimate = label_noise_estimate(frame, label, max_rows=max_rows)
    if estimate is None:
        return Dimension("accuracy", None, t.accuracy, {"note": "too few numeric features or labelled rows"})
    return Dimension("accuracy", 1 - estimate["noise_rate"], t.accuracy, estimate)


def _currentness(
    frame: pl.DataFrame, column: str | None, schema: Schema | None, now: dt.datetime, t: Thresholds
) -> Dimension:
    import polars as pl

    if column is None or column not in frame.columns or frame.height == 0:
        return Dimension("currentness", None, t.currentness, {"note": "no timestamp column"})
    values = frame[column]
    if values.dtype == pl.String:
        fmt = schema.field(column).format if schema and column in [f.name for f in schema.fields] else None
        values = values.str.to_datetime(fmt, strict=False, time_unit="us")
    elif values.dtype == pl.Date:
        values = values.cast(pl.Datetime("us"))
    if not isinstance(values.dtype, pl.Datetime):
        return Dimension("currentness", None, t.currentness, {"note": f"{column} is not a timestamp"})
    if values.dtype.time_zone is not None:
        values = values.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    ages = ((pl.lit(now) - values.drop_nulls()).dt.total_seconds() / 86400.0).alias("age")
    age = pl.select(ages).to_series().cast(pl.Float64)
    if age.len() == 0:
        return Dimension("currentness", None, t.currentness, {"note": f"{column} has no parseable values"})
    current = float((age <= t.max_age_days).mean() or 0.0)  # type: ignore[arg-type]
    return Dimension(
        "currentness",
        current,
        t.currentness,
        {
            "column": column,
            "median_age_days": round(float(age.median() or 0.0), 2),  # type: ignore[arg-type]
            "oldest_days": round(float(age.max() or 0.0), 2),  # type: ignore[arg-type]
            "newest_days": round(float(age.min() or 0.0), 2),  # type: ignore[arg-type]
            "max_age_days": t.max_age_days,
        },
    )
