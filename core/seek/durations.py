"""``Duration``: the one type for spans of time in every Seek config ("15m", "7d", "1.5d" or seconds).

A Duration is a :class:`datetime.timedelta` inside the program. It is parsed once, where a config is
validated, and written back as a short string ("15m", "1.5d") in config.json, so that a run folder's
config can be fed back with ``--config``. Convert to other units only at the edge (``.total_seconds()``
for a library that wants seconds, polars' ``"900s"`` strings via :func:`polars_interval`).
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_UNITS: dict[str, float] = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PATTERN = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([smhdw]?)\s*$")


def parse_duration(value: Any) -> timedelta:
    """Turn "15m", "7d", "1.5d", "90s", a number of seconds or a timedelta into a timedelta (>= 0)."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration (use e.g. '15m', '7d' or a number of seconds)")
    elif isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        match = _PATTERN.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not a duration (use a number and a unit s/m/h/d/w, e.g. '15m', '1.5d')")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    else:
        raise ValueError(f"{value!r} is not a duration (use e.g. '15m', '7d' or a number of seconds)")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{value!r}: a duration must be finite and >= 0")
    # Whole microseconds: the resolution of timedelta and of the UTC datetime[us] columns Seek uses.
    return timedelta(microseconds=round(seconds * 1_000_000))


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling of a duration: 900 s -> "15m", 1.5 days -> "1.5d", 90 s -> "90s"."""
    seconds = value.total_seconds()
    for unit in ("w", "d", "h", "m"):
        amount = seconds / _UNITS[unit]
        if amount >= 1 and (amount == int(amount) or (amount * 10 == int(amount * 10) and unit in "dh")):
            return f"{amount:g}{unit}"
    return f"{seconds:g}s"


def polars_interval(value: timedelta) -> str:
    """The duration as polars' interval string in whole microseconds ("900000000us")."""
    return f"{round(value.total_seconds() * 1_000_000)}us"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "examples": ["15m", "7d", "1.5d"], "description": "a duration"}),
]
"""A span of time in a config: "15m", "7d", "1.5d" or a number of seconds; a timedelta in code."""
