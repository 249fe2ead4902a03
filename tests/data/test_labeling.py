"""Labelling helpers: uncertainty scores, selection, Label Studio/Prodigy export, annotation import and agreement."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from seek.data.labeling import (
    agreement,
    export_tasks,
    import_annotations,
    probabilities_from_predictions,
    select_uncertain,
    uncertainty,
)
from seek.errors import DataError

PROBS = np.array([[0.98, 0.01, 0.01], [0.4, 0.35, 0.25], [0.5, 0.5, 0.0], [0.34, 0.33, 0.33]])


def test_uncertainty_scores_on_known_rows() -> None:
    assert uncertainty(PROBS, "least_confidence") == pytest.approx([0.02, 0.6, 0.5, 0.66])
    assert uncertainty(PROBS, "margin") == pytest.approx([0.03, 0.95, 1.0, 0.99])
    assert uncertainty(PROBS, "entropy").argmax() == 3
    assert select_uncertain(PROBS, 2, "least_confidence").tolist() == [3, 1]
    assert select_uncertain(PROBS, 2, "margin").tolist() == [2, 3]


def test_diversity_spreads_picks_over_clusters() -> None:
    probs = np.array([[0.5, 0.5]] * 3 + [[0.55, 0.45]] * 3)
    features = np.array([[0.0], [0.01], [0.02], [10.0], [10.01], [10.02]])
    plain = select_uncertain(probs, 2)
    diverse = select_uncertain(probs, 2, features=features)
    assert set(plain.tolist()) <= {0, 1, 2}
    assert {int(i) // 3 for i in diverse} == {0, 1}


def test_predictions_with_probabilities_or_binary_scores() -> None:
    matrix, labels = probabilities_from_predictions(
        [{"probabilities": {"b": 0.3, "a": 0.7}}, {"probabilities": {"a": 0.1, "b": 0.9}}]
    )
    assert labels == ["a", "b"] and matrix.tolist() == [[0.7, 0.3], [0.1, 0.9]]
    matrix, labels = probabilities_from_predictions([{"score": 0.2}])
    assert labels == ["0", "1"] and matrix.tolist() == [[0.8, 0.2]]
    with pytest.raises(DataError, match="probabilities"):
        probabilities_from_predictions([{"label": "x"}])


def test_export_label_studio_and_prodigy_tasks(tmp_path: Path) -> None:
    records = [{"id": 1, "text": "late delivery"}, {"id": 2, "text": "lost parcel"}]
    probs = np.array([[0.6, 0.4], [0.3, 0.7]])
    ls = export_tasks(tmp_path / "ls.jsonl", records, probs, ["ok", "problem"], fmt="label-studio", model_version="m1")
    first = json.loads(ls.read_text().splitlines()[0])
    assert first["data"] == records[0]
    assert first["predictions"][0]["result"][0]["value"] == {"choices": ["ok"]}
    assert first["predictions"][0]["score"] == 0.6 and first["predictions"][0]["model_version"] == "m1"
    pg = export_tasks(tmp_path / "pg.jsonl", records, probs, ["ok", "problem"], fmt="prodigy")
    second = json.loads(pg.read_text().splitlines()[1])
    assert second["text"] == "lost parcel" and second["accept"] == ["problem"] and second["meta"]["id"] == 2
    assert [o["id"] for o in second["options"]] == ["ok", "problem"]


def write_lines(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_import_merges_label_studio_and_prodigy_answers_and_names_conflicts(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "a.jsonl",
        [
            {
                "data": {"id": 1},
                "annotations": [
                    {"completed_by": "ann", "result": [{"value": {"choices": ["fraud"]}}]},
                    {"completed_by": "bob", "result": [{"value": {"choices": ["fraud"]}}]},
                ],
            },
            {
                "data": {"id": 2},
                "annotations": [
                    {"completed_by": "ann", "result": [{"value": {"choices": ["fraud"]}}]},
                    {"completed_by": "bob", "result": [{"value": {"choices": ["legit"]}}]},
                    {"completed_by": "cy", "result": [{"value": {"choices": ["legit"]}}]},
                ],
            },
            {"text": "x", "answer": "accept", "accept": ["legit"], "meta": {"id": 3}, "_annotator_id": "dee"},
            {"text": "y", "answer": "reject", "accept": ["fraud"], "meta": {"id": 4}, "_annotator_id": "dee"},
        ],
    )
    result = import_annotations(path, labels=["fraud", "legit"])
    merged = {r["id"]: r["label"] for r in result.merged.to_dicts()}
    assert merged == {"1": "fraud", "2": "legit", "3": "legit"}
    assert result.conflicts == [
        {
            "id": "2",
            "labels": [{"label": "legit", "annotators": ["bob", "cy"]}, {"label": "fraud", "annotators": ["ann"]}],
        }
    ]
    assert result.agreement["items_with_several_annotators"] == 2


def test_import_errors_name_line_and_field(tmp_path: Path) -> None:
    unknown = write_lines(
        tmp_path / "u.jsonl",
        [{"id": 1, "annotator": "a", "label": "fraud"}, {"id": 2, "annotator": "b", "label": "spam"}],
    )
    with pytest.raises(DataError, match=r"u\.jsonl: line 2, field 'label': unknown label 'spam' \(annotator b\)"):
        import_annotations(unknown, labels=["fraud", "legit"])
    missing = write_lines(tmp_path / "m.jsonl", [{"annotator": "a", "label": "fraud"}])
    with pytest.raises(DataError, match=r"m\.jsonl: line 1, field 'id': missing id"):
        import_annotations(missing)
    (tmp_path / "bad.jsonl").write_text('{"id": 1, "label": "x"}\n{oops\n')
    with pytest.raises(DataError, match=r"bad\.jsonl: line 2, column 2: invalid JSON"):
        import_annotations(tmp_path / "bad.jsonl")
    with pytest.raises(DataError, match="file not found"):
        import_annotations(tmp_path / "none.jsonl")


def test_fleiss_kappa_on_a_textbook_table() -> None:
    # Two raters, four items: agree on 3 (a, a, b), disagree on 1 -> observed agreement 0.75.
    frame = pl.DataFrame(
        {
            "id": ["1", "1", "2", "2", "3", "3", "4", "4"],
            "annotator": ["x", "y"] * 4,
            "label": ["a", "a", "a", "a", "b", "b", "a", "b"],
        }
    )
    result = agreement(frame)
    p_a = 5 / 8
    p_e = p_a**2 + (1 - p_a) ** 2
    assert result["observed_agreement"] == 0.75
    assert result["fleiss_kappa"] == pytest.approx((0.75 - p_e) / (1 - p_e), abs=1e-4)
    assert result["items_in_full_agreement"] == 3
