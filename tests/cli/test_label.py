"""``seek label suggest`` and ``seek label import`` through the CLI with a registered app."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

import seek


class ThresholdPredictor:
    """Probability of 'late' rises with distance: rows near 50 km are the uncertain ones."""

    def predict(self, batch):
        out = []
        for record in batch:
            p = min(max(record["distance_km"] / 100.0, 0.0), 1.0)
            out.append({"label": "late" if p > 0.5 else "on_time", "probabilities": {"late": p, "on_time": 1 - p}})
        return out


class DeliveryApp(seek.App):
    name = "delivery-test"
    summary = "labelling test app"
    Config = seek.AppConfig

    def run(self, config, ctx):  # pragma: no cover - never run here
        raise NotImplementedError

    def predictor(self, run_dir):
        assert Path(run_dir).is_dir()
        return ThresholdPredictor()


class DeliveryPlugin:
    @seek.hookimpl
    def seek_apps(self):
        return [DeliveryApp()]


def test_suggest_exports_the_least_certain_rows_as_tasks(tmp_path: Path, seek_plugins) -> None:
    seek_plugins.register(DeliveryPlugin(), name="delivery")
    data = tmp_path / "pool.parquet"
    pl.DataFrame({"id": list(range(101)), "distance_km": [float(d) for d in range(101)]}).write_parquet(data)
    (tmp_path / "run").mkdir()
    out = tmp_path / "tasks.jsonl"
    result = seek_plugins.invoke(
        "label",
        "suggest",
        "delivery-test",
        "--run",
        str(tmp_path / "run"),
        "--data",
        str(data),
        "--n",
        "5",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    tasks = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(t["data"]["distance_km"] for t in tasks) == [48.0, 49.0, 50.0, 51.0, 52.0]
    prodigy = seek_plugins.invoke(
        "label",
        "suggest",
        "delivery-test",
        "--run",
        str(tmp_path / "run"),
        "--data",
        str(data),
        "--n",
        "3",
        "--format",
        "prodigy",
        "--diversity",
        "--out",
        str(tmp_path / "p.jsonl"),
    )
    assert prodigy.exit_code == 0, prodigy.output
    assert all("accept" in json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines())


def test_suggest_with_missing_data_file_is_one_line_error(tmp_path: Path, seek_plugins) -> None:
    seek_plugins.register(DeliveryPlugin(), name="delivery")
    (tmp_path / "run").mkdir()
    result = seek_plugins.invoke(
        "label", "suggest", "delivery-test", "--run", str(tmp_path / "run"), "--data", str(tmp_path / "none.csv")
    )
    assert result.exit_code == 1 and "none.csv: file not found" in result.output


def test_import_reports_agreement_conflicts_and_writes_merged_labels(tmp_path: Path, seek_plugins) -> None:
    path = tmp_path / "done.jsonl"
    rows = [
        {"id": 1, "annotator": "ann", "label": "late"},
        {"id": 1, "annotator": "bob", "label": "on_time"},
        {"id": 2, "annotator": "ann", "label": "late"},
        {"id": 2, "annotator": "bob", "label": "late"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    result = seek_plugins.invoke(
        "label", "import", str(path), "--labels", "late,on_time", "--out", str(tmp_path / "m.parquet")
    )
    assert result.exit_code == 0, result.output
    assert "conflict on id 1: late by ann; on_time by bob" in result.output
    assert "observed 0.50" in result.output
    assert pl.read_parquet(tmp_path / "m.parquet").sort("id")["label"].to_list() == ["late", "late"]
    bad = seek_plugins.invoke("label", "import", str(path), "--labels", "late")
    assert bad.exit_code == 1 and "unknown label 'on_time'" in bad.output


def test_suggest_maps_the_users_columns_onto_the_app_fields(tmp_path: Path, seek_plugins) -> None:
    seek_plugins.register(DeliveryPlugin(), name="delivery")
    data = tmp_path / "pool.csv"
    data.write_text("id,DIST\n" + "".join(f"{i},{float(i)}\n" for i in range(101)))
    (tmp_path / "run").mkdir()
    out = tmp_path / "tasks.jsonl"
    args = ["label", "suggest", "delivery-test", "--run", str(tmp_path / "run"), "--data", str(data)]
    result = seek_plugins.invoke(*args, "--map", "distance_km=DIST", "--n", "2", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(line)["data"]["distance_km"] for line in out.read_text().splitlines()) == [49.0, 50.0]
    missing = seek_plugins.invoke(*args, "--map", "distance_km=NOPE", "--out", str(out))
    assert missing.exit_code != 0 and "NOPE" in missing.output and "Traceback" not in missing.output
