"""Semi-automatic labelling: uncertainty and diversity sampling, Label Studio/Prodigy tasks, annotation import."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from seek.errors import DataError
from seek.io import atomic_write_text

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

Strategy = Literal["least_confidence", "margin", "entropy"]


def probabilities_from_predictions(predictions: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, list[str]]:
    """Turn predictor outputs into a probability matrix: ``probabilities`` dicts, or binary ``score`` values."""
    import numpy as np

    if not predictions:
        return np.zeros((0, 0)), []
    if all("probabilities" in p for p in predictions):
        labels = sorted({str(k) for p in predictions for k in p["probabilities"]})
        matrix = np.array([[float(p["probabilities"].get(k, 0.0)) for k in labels] for p in predictions])
        return matrix, labels
    if all("score" in p for p in predictions):
        score = np.array([float(p["score"]) for p in predictions])
        return np.stack([1 - score, score], axis=1), ["0", "1"]
    raise DataError("predictions must all carry 'probabilities' (label -> probability) or 'score' (binary)")


def uncertainty(probs: np.ndarray, strategy: Strategy = "least_confidence") -> np.ndarray:
    """Higher means less sure: 1 - max p, 1 - (p1 - p2), or entropy (nats)."""
    import numpy as np

    if strategy == "least_confidence":
        return 1 - probs.max(axis=1)
    if strategy == "margin":
        top = np.sort(probs, axis=1)
        return 1 - (top[:, -1] - top[:, -2]) if probs.shape[1] > 1 else 1 - top[:, -1]
    if strategy == "entropy":
        clipped = np.clip(probs, 1e-12, 1)
        return -(clipped * np.log(clipped)).sum(axis=1)
    raise ValueError(f"unknown strategy {strategy!r}: least_confidence, margin or entropy")


def select_uncertain(
    probs: np.ndarray,
    n: int,
    strategy: Strategy = "least_confidence",
    features: np.ndarray | None = None,
    pool_factor: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """Indices of the ``n`` rows to label: most uncertain first, or with ``features`` spread over k-means clusters."""
    import numpy as np

    scores = uncertainty(probs, strategy)
    order = np.argsort(-scores, kind="stable")
    if features is None or n >= len(order):
        return order[:n]
    from sklearn.cluster import KMeans

    # Diversity: cluster the most uncertain pool and take each cluster's most uncertain row.
    pool = order[: max(n * pool_factor, n)]
    labels = KMeans(n_clusters=n, n_init=1, random_state=seed).fit_predict(features[pool])
    chosen: list[int] = []
    for cluster in range(n):
        members = pool[labels == cluster]
        if len(members):
            chosen.append(int(members[np.argmax(scores[members])]))
    rest = [int(i) for i in pool if i not in set(chosen)]
    return np.array((chosen + rest)[:n])


def label_studio_task(
    record: Mapping[str, Any],
    label: str,
    score: float,
    model_version: str,
    from_name: str = "label",
    to_name: str = "text",
) -> dict[str, Any]:
    """A Label Studio import task with the model's pre-label as a prediction (choices control)."""
    return {
        "data": dict(record),
        "predictions": [
            {
                "model_version": model_version,
                "score": score,
                "result": [
                    {"from_name": from_name, "to_name": to_name, "type": "choices", "value": {"choices": [label]}}
                ],
            }
        ],
    }


def prodigy_task(
    record: Mapping[str, Any], label: str, score: float, labels: Sequence[str], text_field: str
) -> dict[str, Any]:
    """A Prodigy textcat task (choice interface) with the pre-label accepted."""
    text = record.get(text_field)
    return {
        "text": str(text) if text is not None else json.dumps(dict(record), default=str, ensure_ascii=False),
        "options": [{"id": lab, "text": lab} for lab in labels],
        "accept": [label],
        "meta": {"id": record.get("id"), "score": round(score, 4), "uncertainty": round(1 - score, 4)},
        "record": dict(record),
    }


def export_tasks(
    path: str | os.PathLike[str],
    records: Sequence[Mapping[str, Any]],
    probs: np.ndarray,
    labels: Sequence[str],
    fmt: Literal["label-studio", "prodigy"] = "label-studio",
    model_version: str = "seek",
    text_field: str = "text",
) -> Path:
    """Write one JSON task per line with the model's most probable label as the pre-label."""
    best = probs.argmax(axis=1)
    lines = []
    for record, index, row in zip(records, best, probs, strict=True):
        label, score = labels[int(index)], float(row[int(index)])
        task = (
            label_studio_task(record, label, score, model_version)
            if fmt == "label-studio"
            else prodigy_task(record, label, score, labels, text_field)
        )
        lines.append(json.dumps(task, ensure_ascii=False, default=str))
    return atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))


@dataclass
class Annotations:
    """Imported annotations: one row per (id, annotator), the merged label per id, and agreement."""

    rows: pl.DataFrame
    merged: pl.DataFrame
    agreement: dict[str, Any]
    conflicts: list[dict[str, Any]] = field(default_factory=list)


def _parse_annotation(task: Mapping[str, Any], source: str, line: int, id_field: str) -> list[dict[str, Any]]:
    """Rows (id, annotator, label) from a Label Studio export task or a Prodigy answer."""
    out: list[dict[str, Any]] = []
    if "annotations" in task:  # Label Studio export
        data = task.get("data", {})
        item_id = data.get(id_field, task.get("id"))
        for ann in task["annotations"]:
            annotator = ann.get("completed_by", "unknown")
            if isinstance(annotator, dict):
                annotator = annotator.get("email") or annotator.get("id")
            for result in ann.get("result", []):
                for choice in result.get("value", {}).get("choices", []):
                    out.append({"id": item_id, "annotator": str(annotator), "label": str(choice), "line": line})
        return out
    if "answer" in task:  # Prodigy
        if task["answer"] != "accept":
            return out
        meta = task.get("meta", {}) or {}
        item_id = meta.get("id", task.get(id_field))
        annotator = task.get("_annotator_id") or task.get("_session_id") or "unknown"
        for label in task.get("accept", []) or ([task["label"]] if "label" in task else []):
            out.append({"id": item_id, "annotator": str(annotator), "label": str(label), "line": line})
        return out
    if "label" in task:  # plain {"id", "annotator", "label"} lines
        return [
            {
                "id": task.get(id_field),
                "annotator": str(task.get("annotator", "unknown")),
                "label": str(task["label"]),
                "line": line,
            }
        ]
    raise DataError(
        f"{source}: line {line}: neither a Label Studio task ('annotations') nor a Prodigy answer ('answer')"
    )


def import_annotations(
    path: str | os.PathLike[str], labels: Sequence[str] | None = None, id_field: str = "id"
) -> Annotations:
    """Read completed annotations (JSONL, or a Label Studio JSON array), validate them, merge by majority vote."""
    import polars as pl

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 (byte offset {exc.start})") from None
    tasks: list[tuple[int, Any]] = []
    if text.lstrip().startswith("["):
        try:
            tasks = list(enumerate(json.loads(text), start=1))
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {exc.lineno}: invalid JSON ({exc.msg})") from None
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    tasks.append((number, json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}: line {number}, column {exc.colno}: invalid JSON ({exc.msg})") from None
    rows: list[dict[str, Any]] = []
    for number, task in tasks:
        if not isinstance(task, dict):
            raise DataError(f"{path}: line {number}: expected a JSON object")
        parsed = _parse_annotation(task, str(path), number, id_field)
        for row in parsed:
            if row["id"] is None or row["id"] == "":
                raise DataError(f"{path}: line {number}, field {id_field!r}: missing id")
            if labels is not None and row["label"] not in labels:
                raise DataError(
                    f"{path}: line {number}, field 'label': unknown label {row['label']!r} "
                    f"(annotator {row['annotator']}); expected one of {list(labels)}"
                )
        rows.extend(parsed)
    if not rows:
        raise DataError(f"{path}: no accepted annotations found")
    frame = pl.DataFrame(rows).with_columns(pl.col("id").cast(pl.String))
    return _merge(frame)


def _merge(frame: pl.DataFrame) -> Annotations:
    import polars as pl

    votes = frame.group_by("id", "label").agg(pl.len().alias("votes"), pl.col("annotator").sort().alias("annotators"))
    ranked = votes.sort(["id", "votes", "label"], descending=[False, True, False])
    merged = ranked.group_by("id", maintain_order=True).agg(
        pl.col("label").first(),
        pl.col("votes").first().alias("votes"),
        pl.col("votes").sum().alias("annotations"),
        (pl.col("votes").first() == pl.col("votes").get(1, null_on_oob=True)).fill_null(False).alias("tie"),
        pl.len().alias("distinct_labels"),
    )
    conflicts = (
        ranked.filter(pl.len().over("id") > 1)
        .group_by("id", maintain_order=True)
        .agg(pl.struct("label", "annotators").alias("labels"))
        .to_dicts()
    )
    return Annotations(rows=frame, merged=merged, agreement=agreement(frame), conflicts=conflicts)


def agreement(frame: pl.DataFrame) -> dict[str, Any]:
    """Observed pairwise agreement and Fleiss' kappa over items with two or more annotators."""
    import polars as pl

    multi = frame.filter(pl.col("annotator").n_unique().over("id") > 1)
    if multi.height == 0:
        return {"items_with_several_annotators": 0}
    table = multi.group_by("id", "label").len().pivot("label", index="id", values="len").fill_null(0)
    counts = table.drop("id").to_numpy().astype(float)
    n_i = counts.sum(axis=1)
    p_i = ((counts * (counts - 1)).sum(axis=1)) / (n_i * (n_i - 1))
    p_bar = float(p_i.mean())
    p_j = counts.sum(axis=0) / counts.sum()
    p_e = float((p_j**2).sum())
    kappa = (p_bar - p_e) / (1 - p_e) if p_e < 1 else 1.0
    return {
        "items_with_several_annotators": len(counts),
        "observed_agreement": round(p_bar, 4),
        "fleiss_kappa": round(float(kappa), 4),
        "items_in_full_agreement": int((counts.max(axis=1) == n_i).sum()),
        "annotators": sorted(multi["annotator"].unique().to_list()),
    }
