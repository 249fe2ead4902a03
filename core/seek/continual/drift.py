"""Drift of a new batch of data against the last one: per-feature population stability index (PSI).

A profile (kept in the run folder as JSON, constant size) holds, per numeric feature, the decile edges
of the reference data and the share of rows in each bin; per categorical feature, the share of each
value. ``PSI = sum (new - ref) * ln(new / ref)`` over bins (shares floored at 1e-4). Rule of thumb:
< 0.1 stable, 0.1-0.25 moderate shift, > 0.25 major shift.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

_FLOOR = 1e-4


def profile(frame: pl.DataFrame, numeric: Sequence[str], categorical: Sequence[str], bins: int = 10) -> dict[str, Any]:
    """The reference distribution of each feature (JSON-ready)."""
    import numpy as np

    out: dict[str, Any] = {"rows": frame.height, "numeric": {}, "categorical": {}}
    for name in numeric:
        values = frame.get_column(name).drop_nulls().cast(float).to_numpy()
        edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])) if len(values) else np.array([])
        out["numeric"][name] = {"edges": edges.tolist(), "shares": _numeric_shares(values, edges)}
    for name in categorical:
        counts = frame.get_column(name).cast(str).value_counts(sort=True)
        total = max(frame.height, 1)
        out["categorical"][name] = {str(v): c / total for v, c in counts.iter_rows()}
    return out


def _numeric_shares(values: Any, edges: Any) -> list[float]:
    import numpy as np

    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return [float(share) for share in counts / max(len(values), 1)]


def psi(reference: Sequence[float], current: Sequence[float]) -> float:
    """Population stability index between two share vectors over the same bins."""
    total = 0.0
    for ref, cur in zip(reference, current, strict=True):
        ref, cur = max(ref, _FLOOR), max(cur, _FLOOR)
        total += (cur - ref) * math.log(cur / ref)
    return total


def drift(reference: Mapping[str, Any], frame: pl.DataFrame) -> dict[str, float]:
    """Feature -> PSI of ``frame`` against a :func:`profile`."""
    import numpy as np

    out: dict[str, float] = {}
    for name, spec in reference["numeric"].items():
        values = frame.get_column(name).drop_nulls().cast(float).to_numpy()
        out[name] = psi(spec["shares"], _numeric_shares(values, np.asarray(spec["edges"])))
    for name, shares in reference["categorical"].items():
        counts = dict(frame.get_column(name).cast(str).value_counts().iter_rows())
        total = max(frame.height, 1)
        keys = sorted(set(shares) | set(counts))
        out[name] = psi([shares.get(k, 0.0) for k in keys], [counts.get(k, 0) / total for k in keys])
    return out


def label(value: float) -> str:
    """stable / moderate / major for a PSI value."""
    return "stable" if value < 0.1 else "moderate" if value < 0.25 else "major"
