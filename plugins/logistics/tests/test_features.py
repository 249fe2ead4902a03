"""Features: fixed vocabulary slots that new values fill, and one encoder for training and serving."""

from __future__ import annotations

import numpy as np
import polars as pl

from seek_logistics.data import with_targets
from seek_logistics.features import NUMERIC_DIM, RECORD_FIELDS, FeatureSpace, records_frame


def test_new_values_fill_free_slots_and_overflow_goes_to_unknown(small_stream) -> None:
    frame = with_targets(small_stream)
    q1 = frame.filter(pl.col("quarter") == "2024Q1")
    space = FeatureSpace.fit(q1, capacity=16)
    assert "Coast" not in space.vocab["destination_region"]
    added = space.extend(frame.filter(pl.col("quarter") == "2024Q3"))
    assert "destination_region=Coast" in added
    x = space.encode(frame.filter(pl.col("destination_region") == "Coast"))
    slot = space.vocab["destination_region"].index("Coast")
    assert (x[:, NUMERIC_DIM + 1] == slot).all()
    tight = FeatureSpace.fit(q1, capacity=2)
    assert len(tight.vocab["carrier"]) == 2
    assert set(np.unique(tight.encode(q1)[:, NUMERIC_DIM + 3])) <= {0.0, 1.0}


def test_serving_records_encode_exactly_like_the_training_frame(small_stream) -> None:
    frame = with_targets(small_stream).head(25)
    space = FeatureSpace.fit(with_targets(small_stream))
    records = frame.select(RECORD_FIELDS).to_dicts()
    for row in records:
        row["created_at"] = row["created_at"].isoformat()
        row["promised_at"] = row["promised_at"].isoformat() + "+00:00"
    assert np.array_equal(space.encode(records_frame(records)), space.encode(frame))


def test_feature_space_round_trips_through_json(small_stream) -> None:
    space = FeatureSpace.fit(with_targets(small_stream))
    again = FeatureSpace.from_json(space.to_json())
    frame = with_targets(small_stream)
    assert np.array_equal(again.encode(frame), space.encode(frame))
    assert again.hours(np.array([0.0]))[0] == space.hours_mean
