"""Duration: one type for spans of time, parsed once, written back as a short string."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import BaseModel, ValidationError

from seek.durations import Duration, format_duration, parse_duration, polars_interval


class Windows(BaseModel):
    delay: Duration = timedelta(days=7)
    windows: list[Duration] = [timedelta(minutes=15), timedelta(days=1)]


@pytest.mark.parametrize(
    ("given", "seconds"),
    [("15m", 900), ("7d", 604800), ("1.5d", 129600), ("90s", 90), ("2h", 7200), ("1w", 604800), (30, 30), (0.5, 0.5)],
)
def test_spellings_parse_to_the_same_timedelta(given, seconds):
    assert parse_duration(given) == timedelta(seconds=seconds)


@pytest.mark.parametrize("bad", ["15x", "", "d", "-1d", True, None, float("inf"), [1]])
def test_what_is_not_a_duration_is_refused(bad):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_a_config_round_trips_through_json_as_short_strings():
    config = Windows(delay="1.5d", windows=["1h", 86400])
    dumped = config.model_dump(mode="json")
    assert dumped == {"delay": "1.5d", "windows": ["1h", "1d"]}
    assert Windows.model_validate(dumped) == config


def test_a_bad_window_names_its_position():
    with pytest.raises(ValidationError) as info:
        Windows(windows=["1h", "15x"])
    assert info.value.errors()[0]["loc"] == ("windows", 1)


def test_formatting_and_polars_intervals():
    assert format_duration(timedelta(seconds=90)) == "90s"
    assert format_duration(timedelta(days=14)) == "2w"
    assert polars_interval(timedelta(minutes=15)) == "900000000us"
