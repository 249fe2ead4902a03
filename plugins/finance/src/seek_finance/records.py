"""Checking one predictor record field by field: every problem is a DataError naming the record and the field.

Ids are normalised to the type the training data had ("1187" and 1187 are the same card when ids were
integers; strings are stripped); numbers must be real numbers (not booleans, not text that is not a
number) inside the schema's bounds; timestamps may be datetimes, ISO strings (naive ones in the run's
``timezone``) or epoch seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from seek.errors import DataError
from seek_finance.data import MAX_AMOUNT

_EPOCH = datetime(1970, 1, 1)
_BOUNDS = {
    "amount": (0.0, MAX_AMOUNT),
    "ip_lat": (-90.0, 90.0),
    "ip_lon": (-180.0, 180.0),
    "session_seconds": (0.0, 86400.0 * 7),
}
REQUIRED = ("transaction_id", "timestamp", "customer_id", "terminal_id", "amount")


class RecordChecker:
    """Validates and normalises records for a run whose data had ``modalities`` and id types ``id_types``."""

    def __init__(self, modalities: Mapping[str, bool], id_types: Mapping[str, str], timezone: str = "UTC") -> None:
        self.required = list(REQUIRED)
        if modalities.get("device"):
            self.required.append("device_id")
        if modalities.get("geo"):
            self.required += ["ip_lat", "ip_lon"]
        self.id_types = dict(id_types)
        self.zone = ZoneInfo(timezone)

    def __call__(self, i: int, record: Any) -> dict[str, Any]:
        """The record normalised (ids typed, numbers float, timestamp a naive UTC datetime), or a DataError."""
        if not isinstance(record, Mapping):
            raise DataError(f"record {i}: expected a mapping of field -> value, got {type(record).__name__}")
        where = f"record {i}"
        for name in self.required:
            if record.get(name) is None:
                raise DataError(f"{where}: field {name!r} is missing")
        tx = dict(record)
        tx["transaction_id"] = self._id(where, "transaction_id", record["transaction_id"])
        where = f"record {i} (transaction_id {tx['transaction_id']!r})"
        for name in ("customer_id", "terminal_id", "device_id"):
            if record.get(name) is not None:
                tx[name] = self._id(where, name, record[name])
        tx["timestamp"] = self._time(where, record["timestamp"])
        for name, (low, high) in _BOUNDS.items():
            if record.get(name) is not None:
                tx[name] = _number(where, name, record[name], low, high)
        if record.get("is_fraud") is not None:
            label = record["is_fraud"]
            if isinstance(label, bool) or label not in (0, 1):
                raise DataError(f"{where}: field 'is_fraud' must be 0 or 1, got {label!r}")
            tx["is_fraud"] = int(label)
        events = record.get("session_events")
        if events is not None and not isinstance(events, str):
            raise DataError(f"{where}: field 'session_events' must be text ('|'-separated events)")
        mcc = record.get("merchant_category")
        if mcc is not None and not isinstance(mcc, (str, int)):
            raise DataError(f"{where}: field 'merchant_category' must be a code, got {type(mcc).__name__}")
        return tx

    @staticmethod
    def micros(tx: Mapping[str, Any]) -> int:
        """Microseconds since the epoch of a checked record's timestamp."""
        delta = tx["timestamp"] - _EPOCH
        return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds

    def _id(self, where: str, name: str, value: Any) -> Any:
        kind = self.id_types.get(name, "str")
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise DataError(f"{where}: field {name!r} must be an id (text or integer), got {type(value).__name__}")
        if kind == "int":
            try:
                if isinstance(value, str):
                    return int(value.strip())
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                return int(value)
            except (ValueError, OverflowError):
                raise DataError(f"{where}: field {name!r} must be an integer id, got {value!r}") from None
        text = (str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)).strip()
        if not text:
            raise DataError(f"{where}: field {name!r} is blank")
        return text

    def _time(self, where: str, value: Any) -> datetime:
        try:
            if isinstance(value, datetime):
                when = value
            elif isinstance(value, str):
                when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                return _EPOCH + (datetime.fromtimestamp(float(value), UTC) - datetime(1970, 1, 1, tzinfo=UTC))
            else:
                raise TypeError
        except (TypeError, ValueError, OverflowError, OSError):
            raise DataError(f"{where}: field 'timestamp': {value!r} is not a timestamp") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=self.zone)
        return when.astimezone(UTC).replace(tzinfo=None)


def _number(where: str, name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool):
        raise DataError(f"{where}: field {name!r} must be a number, got {value!r}")
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise DataError(f"{where}: field {name!r} must be a number, got {value!r}") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise DataError(f"{where}: field {name!r} = {value!r} is outside {low:g}..{high:g}")
    return number
