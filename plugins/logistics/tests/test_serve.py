"""The predictor: one shipment and a batch, same answers; bad records are one line."""

from __future__ import annotations

import datetime as dt

import pytest

from seek.errors import DataError
from seek_logistics.app import LogisticsApp


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory):
    from seek.config import resolve_config
    from seek.runner import execute

    app = LogisticsApp()
    out = tmp_path_factory.mktemp("serve") / "run"
    return execute(app, resolve_config(app.Config, base=app.tiny), out=out, device="cpu", show_progress=False).path


@pytest.mark.slow
def test_one_shipment_and_a_batch_give_the_same_eta(tiny_run) -> None:
    app = LogisticsApp()
    predictor = app.predictor(tiny_run)
    records = app.example_records(tiny_run, 5)
    batch = predictor.predict(records)
    single = predictor.predict_one(records[2])
    assert single == batch[2]
    for record, answer in zip(records, batch, strict=True):
        assert answer["hours"] > 0 and 0 <= answer["late_probability"] <= 1
        created = dt.datetime.fromisoformat(record["created_at"])
        eta = dt.datetime.fromisoformat(answer["eta"])
        assert abs((eta - created).total_seconds() / 3600 - answer["hours"]) < 1e-3


@pytest.mark.slow
def test_bad_records_are_one_line_errors(tiny_run) -> None:
    predictor = LogisticsApp().predictor(tiny_run)
    record = LogisticsApp().example_records(tiny_run, 1)[0]
    with pytest.raises(DataError, match="record 0: field 'weather' is missing"):
        predictor.predict([{k: v for k, v in record.items() if k != "weather"}])
    with pytest.raises(DataError, match="not an ISO timestamp"):
        predictor.predict([{**record, "created_at": "yesterday"}])
    with pytest.raises(DataError, match="finite number"):
        predictor.predict([{**record, "distance_km": -5}])
    assert predictor.predict([]) == []


@pytest.mark.slow
def test_an_unseen_region_is_served_through_the_unknown_slot(tiny_run) -> None:
    predictor = LogisticsApp().predictor(tiny_run)
    record = LogisticsApp().example_records(tiny_run, 1)[0]
    assert predictor.predict([{**record, "destination_region": "Atlantis"}])[0]["hours"] > 0
