"""Drift of served inputs against the training reference: PSI per feature and a two-sample KS test.

PSI (population stability index) compares the share of values in each bin of the reference:
``sum((a - e) * ln(a / e))`` over bins, with quantile bins from the reference for numbers and one bin
per level (plus "other") for categories. Shares are floored at ``EPSILON`` so an empty bin counts as a
large, finite shift, as Evidently and NannyML do. Thresholds follow Evidently: 0.1 warns, 0.25 alerts.
KS compares the served values with the reference's bounded sample (scipy's ``ks_2samp``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, model_validator

if TYPE_CHECKING:
    import numpy as np

    from seek.monitoring.reference import FeatureReference, Reference

EPSILON = 1e-4
Level = Literal["ok", "warn", "alert", "n/a"]


class DriftThresholds(BaseModel):
    """When a feature counts as drifted (part of the monitoring config)."""

    psi_warn: float = Field(default=0.1, ge=0, description="PSI at or above this warns (Evidently's 0.1).")
    psi_alert: float = Field(default=0.25, ge=0, description="PSI at or above this alerts (Evidently's 0.25).")
    ks_pvalue: float = Field(default=0.05, gt=0, lt=1, description="KS p-value below this marks the KS test as failed.")
    min_samples: int = Field(default=100, ge=1, description="Fewer served values than this: the feature is not judged.")

    @model_validator(mode="after")
    def _ordered(self) -> DriftThresholds:
        if self.psi_alert < self.psi_warn:
            raise ValueError(f"psi_alert ({self.psi_alert}) must be >= psi_warn ({self.psi_warn})")
        return self


@dataclass
class FeatureDrift:
    """Drift of one feature: PSI, KS statistic and p-value (numbers only) and the level they give."""

    feature: str
    kind: str
    n: int
    psi: float
    ks: float | None = None
    ks_pvalue: float | None = None
    level: Level = "ok"
    ks_drift: bool = False


@dataclass
class DriftTable:
    """Drift of every reference feature, worst first."""

    rows: list[FeatureDrift] = field(default_factory=list)

    @property
    def drifted(self) -> list[str]:
        """Features at level warn or alert."""
        return [r.feature for r in self.rows if r.level in ("warn", "alert")]

    @property
    def alerts(self) -> list[str]:
        """Features at level alert."""
        return [r.feature for r in self.rows if r.level == "alert"]

    def gauges(self) -> dict[str, dict[str, float]]:
        """``{feature: {"psi", "ks"}}`` for :meth:`seek.monitoring.metrics.Metrics.drift` (KS 0 for categories)."""
        return {r.feature: {"psi": r.psi, "ks": r.ks or 0.0} for r in self.rows if r.level != "n/a"}

    def to_json(self) -> list[dict[str, Any]]:
        """Rows as JSON-ready dicts."""
        return [asdict(r) for r in self.rows]

    def markdown(self, limit: int = 30) -> str:
        """A Markdown table of the ``limit`` worst features."""
        if not self.rows:
            return "No features to compare (no reference features or no recorded inputs)."
        lines = [
            "| feature | kind | n | PSI | KS | KS p-value | KS drift | level |",
            "|---|---|---:|---:|---:|---:|---|---|",
        ]
        for r in self.rows[:limit]:
            ks = "" if r.ks is None else f"{r.ks:.3f}"
            p = "" if r.ks_pvalue is None else f"{r.ks_pvalue:.2g}"
            flag = "" if r.ks is None else ("yes" if r.ks_drift else "no")
            lines.append(f"| {r.feature} | {r.kind} | {r.n:,} | {r.psi:.3f} | {ks} | {p} | {flag} | {r.level} |")
        more = len(self.rows) - limit
        if more > 0:
            lines.append(f"\n{more} more features below these (all in drift.json).")
        return "\n".join(lines)


def psi(expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray) -> float:
    """Population stability index of two count (or share) vectors over the same bins."""
    import numpy as np

    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.shape != a.shape or e.ndim != 1:
        raise ValueError(f"psi: bins differ ({e.shape} vs {a.shape})")
    if e.sum() <= 0 or a.sum() <= 0:
        return math.nan
    e = np.maximum(e / e.sum(), EPSILON)
    a = np.maximum(a / a.sum(), EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def bin_counts(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Counts of ``values`` in the reference's bins: ``(-inf, e1], (e1, e2], ..., (e_k, inf)`` for inner edges."""
    import numpy as np

    inner = np.asarray(edges, dtype=np.float64)
    index = np.searchsorted(inner, values, side="left")
    return np.bincount(index, minlength=len(inner) + 1)


def level_of(psi_value: float, n: int, thresholds: DriftThresholds) -> Level:
    """The drift level of one feature from its PSI (``n/a`` below ``min_samples`` served values)."""
    if n < thresholds.min_samples or math.isnan(psi_value):
        return "n/a"
    if psi_value >= thresholds.psi_alert:
        return "alert"
    if psi_value >= thresholds.psi_warn:
        return "warn"
    return "ok"


def feature_drift(ref: FeatureReference, values: Any, thresholds: DriftThresholds | None = None) -> FeatureDrift:
    """Drift of one feature's served ``values`` (a sequence, numpy array or polars Series) against ``ref``."""
    import numpy as np

    t = thresholds or DriftThresholds()
    if ref.kind == "numeric":
        x = np.asarray(_as_list(values), dtype=np.float64)
        x = x[np.isfinite(x)]
        value = psi(ref.counts, bin_counts(x, ref.edges)) if x.size else math.nan
        ks, pvalue = _ks(np.asarray(ref.sample, dtype=np.float64), x)
        n = int(x.size)
        failed = pvalue is not None and n >= t.min_samples and pvalue < t.ks_pvalue
        return FeatureDrift(ref.name, ref.kind, n, value, ks, pvalue, level_of(value, n, t), failed)
    seen = [v for v in _as_list(values) if v is not None]
    levels = {str(level): i for i, level in enumerate(ref.levels)}
    counts = np.zeros(len(ref.counts), dtype=np.float64)
    other = len(ref.levels)  # the last bin of a categorical reference is "other"
    for v in seen:
        counts[levels.get(str(v), other)] += 1
    value = psi(ref.counts, counts) if seen else math.nan
    return FeatureDrift(ref.name, ref.kind, len(seen), value, None, None, level_of(value, len(seen), t))


def drift_table(
    reference: Reference, columns: Mapping[str, Any], thresholds: DriftThresholds | None = None
) -> DriftTable:
    """Drift of each reference feature found in ``columns`` (name -> served values), worst PSI first."""
    rows = [
        feature_drift(ref, columns[name], thresholds) for name, ref in reference.features.items() if name in columns
    ]
    rows.sort(key=lambda r: (r.level == "n/a", -(r.psi if not math.isnan(r.psi) else -1.0), r.feature))
    return DriftTable(rows)


def _ks(reference: np.ndarray, served: np.ndarray) -> tuple[float | None, float | None]:
    if reference.size == 0 or served.size == 0:
        return None, None
    from scipy.stats import ks_2samp

    result = ks_2samp(reference, served)
    return float(result.statistic), float(result.pvalue)


def _as_list(values: Any) -> Any:
    if hasattr(values, "to_numpy"):  # polars / pandas series
        return values.to_numpy()
    return values
