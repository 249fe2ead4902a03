"""Timestamps of every kind land as naive Datetime("us") holding UTC."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import polars as pl
import pytest

from seek.data.schema import Field, Schema, validate
from seek.errors import ConfigError

WHEN = dt.datetime(2024, 3, 1, 8, 0)  # 08:00 UTC
SCHEMA = Schema([Field("t", "datetime", required=True)])


def times(values: list, **field: object) -> tuple[pl.DataFrame, pl.DataFrame]:
    schema = Schema([Field("t", "datetime", required=True, **field)])  # type: ignore[arg-type]
    return validate(pl.DataFrame({"t": values}), schema)


def test_mixed_naive_offset_and_z_text_all_load_as_utc() -> None:
    kept, rejected = times(
        [
            "2024-03-01T10:00:00+02:00",
            "2024-03-01 08:00:00",
            "2024-03-01T08:00:00Z",
            "2024-03-01T03:00:00-0500",
            "2024-03-01T08:00:00.000+00:00",
            "2024-03-01 08:00",
            "2024-03-01T09:00+01:00",
            " 2024-03-01T08:00:00 UTC ",
        ]
    )
    assert rejected.height == 0
    assert kept.schema["t"] == pl.Datetime("us")
    assert set(kept["t"].to_list()) == {WHEN}


def test_naive_times_follow_the_timezone_setting() -> None:
    kept, _ = times(["2024-03-01 09:00:00"], timezone="Europe/Paris")
    assert kept["t"].to_list() == [WHEN]
    frame = pl.DataFrame({"t": ["2024-07-01 10:00:00", "2024-07-01T10:00:00+02:00"]})
    kept, _ = validate(frame, SCHEMA, timezone="Europe/Paris")
    assert kept["t"].to_list() == [dt.datetime(2024, 7, 1, 8, 0)] * 2


def test_a_local_time_in_the_dst_gap_is_rejected() -> None:
    _, rejected = times(["2024-03-31 02:30:00"], timezone="Europe/Paris")
    assert rejected["reason"].to_list() == ["t: 2024-03-31 02:30:00 is not a timestamp"]


@pytest.mark.parametrize(
    "value", [1709280000, 1709280000000, 1709280000000000, 1709280000000000000, 1709280000.0, "1709280000"]
)
def test_epoch_numbers_of_any_unit_are_told_apart_by_magnitude(value: object) -> None:
    kept, rejected = times([value])
    assert rejected.height == 0 and kept["t"].to_list() == [WHEN]


def test_epoch_unit_can_be_fixed() -> None:
    kept, _ = times([1709280000000], epoch_unit="ms")
    assert kept["t"].to_list() == [WHEN]


@pytest.mark.parametrize("unit", ["ns", "us", "ms"])
@pytest.mark.parametrize("zone", [None, "UTC", "Asia/Tokyo"])
def test_native_polars_and_pandas_datetimes_of_any_unit_land_as_one_dtype(unit: str, zone: str | None) -> None:
    aware = pl.Series("t", [WHEN]).dt.replace_time_zone("UTC")
    series = (aware.dt.convert_time_zone(zone) if zone else aware.dt.replace_time_zone(None)).dt.cast_time_unit(unit)  # type: ignore[arg-type]
    for frame in (pl.DataFrame(series), pl.from_pandas(pd.DataFrame({"t": series.to_pandas()}))):
        kept, rejected = validate(frame, SCHEMA)
        assert rejected.height == 0
        assert kept.schema["t"] == pl.Datetime("us") and kept["t"].to_list() == [WHEN]


def test_dates_are_midnight_utc_and_text_that_is_not_a_time_is_rejected() -> None:
    kept, _ = validate(pl.DataFrame({"t": [dt.date(2024, 3, 1)]}), SCHEMA)
    assert kept["t"].to_list() == [dt.datetime(2024, 3, 1)]
    _, rejected = times(["yesterday", "12345", "2024-13-01 00:00:00"])
    assert rejected.height == 3


def test_unknown_time_zone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        Field("t", "datetime", timezone="Mars/Olympus")
    with pytest.raises(ConfigError, match="unknown time zone"):
        validate(pl.DataFrame({"t": ["2024-01-01"]}), SCHEMA, timezone="CEST+2")
