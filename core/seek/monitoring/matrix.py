"""The three-axis evaluation matrix of one app over a window: quality, efficiency, stability.

- quality: predictions joined to feedback labels by prediction id (the last label given wins):
  accuracy, precision, recall, F1 (binary when the labels are 0/1, macro over classes otherwise) and
  ROC AUC from the scores (binary only; ``score`` is the positive class's probability);
- efficiency: p50/p95/p99 request latency, throughput (mean over the active span and the busiest
  minute), CPU (cores in use, from the processes' heartbeats) and resident memory;
- stability: error rate (4xx/5xx share, as ``seek_request_errors_total``), abnormal-request ratio
  (invalid input: 400, 413, 415, 422) and availability (share of requests not failed by the server, 5xx).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from seek.monitoring.events_log import SERVER, read_frame

if TYPE_CHECKING:
    import polars as pl

ABNORMAL = (400, 413, 415, 422)
MODEL_ROUTES = ("infer", "predict")
BINARY = {"0": 0, "1": 1, "false": 0, "true": 1, "0.0": 0, "1.0": 1}


@dataclass
class Quality:
    """Quality from feedback labels."""

    predictions: int = 0
    labelled: int = 0
    task: str = "n/a"
    accuracy: float | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    auc: float | None = None


@dataclass
class Efficiency:
    """Latency, throughput and resources."""

    requests: int = 0
    latency_source: str = "requests"
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    throughput_rps: float | None = None
    peak_rps: float | None = None
    predictions_per_s: float | None = None
    cpu_cores: float | None = None
    rss_mb_peak: float | None = None


@dataclass
class Stability:
    """Errors, abnormal requests, availability."""

    requests: int = 0
    errors: int = 0
    abnormal: int = 0
    server_errors: int = 0
    error_rate: float | None = None
    abnormal_ratio: float | None = None
    availability: float | None = None


@dataclass
class Matrix:
    """The three axes of ``app`` between ``since`` and ``until``."""

    app: str
    since: str
    until: str
    quality: Quality = field(default_factory=Quality)
    efficiency: Efficiency = field(default_factory=Efficiency)
    stability: Stability = field(default_factory=Stability)

    def to_json(self) -> dict[str, Any]:
        """JSON form (matrix.json)."""
        return asdict(self)


@dataclass
class Window:
    """The recorded events of one app in a window, as frames (kept for the plots)."""

    predictions: pl.DataFrame
    feedback: pl.DataFrame
    requests: pl.DataFrame
    resources: pl.DataFrame


def read_window(root: str | os.PathLike[str], app: str, since: datetime, until: datetime) -> Window:
    """Read the events of ``app`` recorded in ``[since, until)``."""
    return Window(
        predictions=read_frame(root, app, "prediction", since, until),
        feedback=read_frame(root, app, "feedback", since, until),
        requests=read_frame(root, app, "request", since, until),
        resources=read_frame(root, SERVER, "resource", since, until),
    )


def compute_matrix(app: str, window: Window, since: datetime, until: datetime) -> Matrix:
    """The matrix of ``app`` from the window's events."""
    return Matrix(
        app=app,
        since=since.isoformat(timespec="seconds"),
        until=until.isoformat(timespec="seconds"),
        quality=quality(window.predictions, window.feedback),
        efficiency=efficiency(window.requests, window.predictions, window.resources),
        stability=stability(window.requests),
    )


def labelled(predictions: pl.DataFrame, feedback: pl.DataFrame) -> pl.DataFrame:
    """Predictions with a feedback label: columns ``predicted``, ``truth`` (strings) and ``score``."""
    import polars as pl

    if not predictions.height or not feedback.height or "id" not in predictions.columns:
        return pl.DataFrame(schema={"predicted": pl.Utf8, "truth": pl.Utf8, "score": pl.Float64})
    truth = (
        feedback.sort("ts").group_by("id").agg(pl.col("label").last().cast(pl.Utf8).str.to_lowercase().alias("truth"))
    )
    preds = predictions.select(
        pl.col("id"),
        (pl.col("label") if "label" in predictions.columns else pl.lit(None))
        .cast(pl.Utf8)
        .str.to_lowercase()
        .alias("predicted"),
        (pl.col("score") if "score" in predictions.columns else pl.lit(None)).cast(pl.Float64).alias("score"),
    ).unique("id", keep="last")
    joined = preds.join(truth, on="id", how="inner").filter(pl.col("truth").is_not_null())
    return joined.select("predicted", "truth", "score")


def quality(predictions: pl.DataFrame, feedback: pl.DataFrame) -> Quality:
    """Accuracy, precision, recall, F1 and AUC of the labelled predictions."""
    import numpy as np
    import polars as pl
    from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

    out = Quality(predictions=predictions.height)
    joined = labelled(predictions, feedback)
    out.labelled = joined.height
    if not joined.height:
        return out
    truths = set(joined.get_column("truth").unique().to_list())
    binary = truths <= set(BINARY)
    if binary:
        threshold = pl.when(pl.col("score") >= 0.5).then(pl.lit("1")).otherwise(pl.lit("0"))
        joined = joined.with_columns(
            pl.coalesce(pl.col("predicted"), threshold).replace_strict(BINARY, default=-1).alias("p"),
            pl.col("truth").replace_strict(BINARY, default=-1).alias("t"),
        )
        y_true, y_pred = joined.get_column("t").to_numpy(), joined.get_column("p").to_numpy()
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="binary", pos_label=1, zero_division=0)
        out.task = "binary"
        scores = joined.get_column("score").to_numpy()
        if len(set(y_true.tolist())) == 2 and not np.isnan(scores).any():
            out.auc = float(roc_auc_score(y_true, scores))
    else:
        y_true = joined.get_column("truth").to_numpy()
        y_pred = joined.get_column("predicted").fill_null("").to_numpy()
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
        out.task = "multiclass (macro)"
    out.accuracy = float((y_true == y_pred).mean())
    out.precision, out.recall, out.f1 = float(p), float(r), float(f)
    return out


def efficiency(requests: pl.DataFrame, predictions: pl.DataFrame, resources: pl.DataFrame) -> Efficiency:
    """Latency quantiles, throughput and resources."""
    import polars as pl

    out = Efficiency()
    model = requests.filter(pl.col("route").is_in(MODEL_ROUTES)) if requests.height else requests
    source = model if model.height else predictions
    out.latency_source = "requests" if model.height else "predictions"
    out.requests = model.height
    if source.height and "latency_s" in source.columns:
        lat = source.get_column("latency_s").cast(pl.Float64)
        q = [lat.quantile(x, interpolation="linear") for x in (0.5, 0.95, 0.99)]
        out.p50_ms, out.p95_ms, out.p99_ms = (None if v is None else round(1000 * v, 3) for v in q)
        ts = source.get_column("ts").to_numpy()
        span = float(ts.max() - ts.min())
        out.throughput_rps = source.height / span if span > 0 else None
        per_minute = source.group_by((pl.col("ts") // 60).alias("minute")).len()
        out.peak_rps = float(per_minute.get_column("len").to_numpy().max()) / 60
    if predictions.height:
        ts = predictions.get_column("ts").to_numpy()
        span = float(ts.max() - ts.min())
        out.predictions_per_s = predictions.height / span if span > 0 else None
    if resources.height > 1:
        per_pid = (
            resources.sort("ts")
            .group_by("pid")
            .agg(
                (
                    (pl.col("cpu_s").last() - pl.col("cpu_s").first()) / (pl.col("ts").last() - pl.col("ts").first())
                ).alias("cores"),
                pl.col("rss_bytes").max().alias("rss"),
            )
        )
        cores = per_pid.get_column("cores").drop_nans().drop_nulls()
        out.cpu_cores = round(float(cores.sum()), 3) if cores.len() else None
        out.rss_mb_peak = round(float(per_pid.get_column("rss").sum()) / 2**20, 1)
    return out


def stability(requests: pl.DataFrame) -> Stability:
    """Error rate, abnormal-request ratio and availability of the model routes."""
    import polars as pl

    out = Stability()
    if not requests.height:
        return out
    model = requests.filter(pl.col("route").is_in((*MODEL_ROUTES, "feedback")))
    n = model.height
    if not n:
        return out
    status = model.get_column("status")
    out.requests = n
    out.errors = int((status >= 400).sum())
    out.abnormal = int(status.is_in(ABNORMAL).sum())
    out.server_errors = int((status >= 500).sum())
    out.error_rate = out.errors / n
    out.abnormal_ratio = out.abnormal / n
    out.availability = 1 - out.server_errors / n
    return out


def fmt(value: float | int | None, digits: int = 4) -> str:
    """A table cell: blank for missing, integers with separators."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}g}"
