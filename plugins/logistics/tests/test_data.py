"""The shipments schema through the core data pipeline: CSV/parquet, --map, rejected rows."""

from __future__ import annotations

import polars as pl
import pytest

from seek.data.spec import load_table
from seek.errors import DataError
from seek_logistics.app import LogisticsApp
from seek_logistics.data import FIELDS, quarters, validate_frame


def test_simulated_rows_pass_the_schema(small_stream) -> None:
    kept, rejected = validate_frame(small_stream)
    assert kept.height == small_stream.height and rejected.height == 0
    assert kept.columns == list(FIELDS)


def test_a_csv_with_other_column_names_loads_with_a_mapping_and_bad_rows_are_rejected(small_stream, tmp_path) -> None:
    frame = small_stream.head(50).rename({"delivered_at": "DELIVERED", "carrier": "CARRIER_NAME"})
    frame = frame.with_columns(pl.col("distance_km").cast(pl.String))
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("far")).otherwise(pl.col("distance_km")).alias("distance_km")
    )
    path = tmp_path / "mine.csv"
    frame.write_csv(path)
    spec = LogisticsApp.data
    data = spec.open(path, {"delivered_at": "DELIVERED", "carrier": "CARRIER_NAME"}, app="logistics-eta")
    table = load_table(data, spec)
    assert table.frame.height == 49 and table.rejected.height == 1
    assert "distance_km" in table.rejected["reason"][0]
    assert set(FIELDS) <= set(table.frame.columns)


def test_a_file_missing_a_required_field_is_one_line(small_stream, tmp_path) -> None:
    path = tmp_path / "short.parquet"
    small_stream.drop("weather").write_parquet(path)
    spec = LogisticsApp.data
    with pytest.raises(DataError, match="'weather'"):
        load_table(spec.open(path, app="logistics-eta"), spec)


def test_delivery_before_booking_is_rejected_by_a_rule(small_stream) -> None:
    broken = small_stream.head(20).with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.col("created_at"))
        .otherwise(pl.col("delivered_at"))
        .alias("delivered_at")
    )
    kept, rejected = validate_frame(broken)
    assert kept.height == 19 and "delivered_after_created" in rejected["reason"][0]


def test_quarters_cut_by_calendar_quarter(small_stream) -> None:
    found = quarters(small_stream)
    assert [name for name, _ in found] == ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    assert all((part["hours"] > 0).all() for _, part in found)
