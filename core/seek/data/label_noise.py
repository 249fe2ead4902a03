"""Label-noise estimate for the quality report's accuracy dimension (confident learning, cross-validated)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import polars as pl


def label_noise_estimate(
    frame: pl.DataFrame, label: str, max_rows: int = 20_000, seed: int = 0
) -> dict[str, Any] | None:
    """Confident-learning style estimate: share of rows whose cross-validated prediction confidently disagrees."""
    import numpy as np
    import polars as pl
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    numeric = [c for c, d in frame.schema.items() if c != label and (d.is_numeric() or d == pl.Boolean)]
    data = frame.filter(pl.col(label).is_not_null())
    if not numeric or data.height < 50:
        return None
    if data.height > max_rows:
        data = data.sample(max_rows, seed=seed)
    x = data.select(pl.col(numeric).cast(pl.Float64).fill_nan(None)).to_numpy()
    y_raw = data[label].cast(pl.String).to_numpy()
    classes, y = np.unique(y_raw, return_inverse=True)
    counts = np.bincount(y)
    if len(classes) < 2 or counts.min() < 5:
        return None
    folds = int(min(5, counts.min()))
    model = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=500))
    probs = cross_val_predict(model, x, y, cv=folds, method="predict_proba")
    flagged = confident_disagreement(probs, y)
    return {
        "noise_rate": round(float(flagged.mean()), 6),
        "suspect_rows": int(flagged.sum()),
        "rows_checked": len(y),
        "features": len(numeric),
        "method": f"{folds}-fold logistic regression, per-class confident thresholds",
    }


def confident_disagreement(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Rows whose most-probable confident class (p >= that class's mean self-confidence) is not their label."""
    import numpy as np

    n_classes = probs.shape[1]
    thresholds = np.array([probs[labels == k, k].mean() if (labels == k).any() else 1.0 for k in range(n_classes)])
    confident = probs >= thresholds
    masked = np.where(confident, probs, -1.0)
    best = masked.argmax(axis=1)
    return confident.any(axis=1) & (best != labels)
