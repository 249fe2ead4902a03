"""Shipment features, one function for training and serving: the frame (or one record) -> model input.

The time rule: every feature is known when the shipment is booked (``created_at``, route, parcel,
service, carrier, hub, weather forecast, promised time); ``delivered_at`` is only the label.

Layout of ``x`` (float32, one row per shipment): ``NUMERIC_DIM`` numeric features (log distance,
weight and volume standardised on the first quarter; promised hours / 100; hour of day and day of
year as sin/cos; quarter of year one-hot), then one slot index per categorical field. Slots belong to
a vocabulary with a fixed capacity per field: a value first seen in a later quarter (a new region,
a new carrier) takes the next free slot, so the model's shape never changes across updates; values
past the capacity share slot 0 ("unknown").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from seek.errors import DataError
from seek_logistics.data import CATEGORICAL, FIELDS, NUMERIC

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

NUMERIC_DIM = len(NUMERIC) + 1 + 4 + 4
UNKNOWN = "<unknown>"


@dataclass
class FeatureSpace:
    """Scalers and vocabularies fixed on the first quarter (vocabularies grow into free slots later)."""

    capacity: int = 16
    means: dict[str, float] = field(default_factory=dict)
    stds: dict[str, float] = field(default_factory=dict)
    vocab: dict[str, list[str]] = field(default_factory=dict)
    hours_mean: float = 0.0
    hours_std: float = 1.0

    @classmethod
    def fit(cls, frame: pl.DataFrame, capacity: int = 16) -> FeatureSpace:
        """Scalers and vocabularies from the first quarter's training rows (with ``hours``)."""
        import numpy as np

        space = cls(capacity=capacity)
        for name in NUMERIC:
            logged = np.log1p(frame.get_column(name).to_numpy())
            space.means[name], space.stds[name] = float(logged.mean()), float(logged.std() or 1.0)
        space.vocab = {name: [UNKNOWN] for name in CATEGORICAL}
        space.extend(frame)
        hours = frame.get_column("hours").to_numpy()
        space.hours_mean, space.hours_std = float(hours.mean()), float(hours.std() or 1.0)
        return space

    def extend(self, frame: pl.DataFrame) -> list[str]:
        """Give values not seen before the next free slots; return the ``field=value`` pairs added."""
        added = []
        for name in CATEGORICAL:
            known = self.vocab[name]
            for value in sorted(frame.get_column(name).unique().to_list()):
                if value not in known and len(known) < self.capacity:
                    known.append(value)
                    added.append(f"{name}={value}")
        return added

    def encode(self, frame: pl.DataFrame) -> np.ndarray:
        """The model input ``x`` for every row of a frame in the shipments schema."""
        import numpy as np

        created = frame.get_column("created_at")
        hour = created.dt.hour().to_numpy() + created.dt.minute().to_numpy() / 60.0
        day = created.dt.ordinal_day().to_numpy()
        quarter = created.dt.quarter().to_numpy() - 1
        promised = (frame.get_column("promised_at") - created).dt.total_seconds().to_numpy() / 3600.0
        columns = [
            (np.log1p(frame.get_column(name).to_numpy()) - self.means[name]) / self.stds[name] for name in NUMERIC
        ]
        columns.append(promised / 100.0)
        for period, value in ((24.0, hour), (365.25, day)):
            columns += [np.sin(2 * math.pi * value / period), np.cos(2 * math.pi * value / period)]
        columns += [(quarter == q).astype(np.float64) for q in range(4)]
        for name in CATEGORICAL:
            index = {value: i for i, value in enumerate(self.vocab[name])}
            columns.append(np.array([index.get(v, 0) for v in frame.get_column(name).to_list()], dtype=np.float64))
        return np.stack(columns, axis=1).astype(np.float32)

    def targets(self, frame: pl.DataFrame) -> np.ndarray:
        """``y``: standardised hours and the late flag, shape (N, 2)."""
        import numpy as np

        hours = (frame.get_column("hours").to_numpy() - self.hours_mean) / self.hours_std
        return np.stack([hours, frame.get_column("late").to_numpy()], axis=1).astype(np.float32)

    def hours(self, standardised: Any) -> Any:
        """Model output (standardised hours) back to hours."""
        return standardised * self.hours_std + self.hours_mean

    def tensors(self, frame: pl.DataFrame) -> dict[str, Any]:
        """``{"x", "y"}`` tensors for the Trainer."""
        import torch

        return {"x": torch.from_numpy(self.encode(frame)), "y": torch.from_numpy(self.targets(frame))}

    def to_json(self) -> dict[str, Any]:
        """JSON form (features.json in the run folder)."""
        return {
            "capacity": self.capacity,
            "means": self.means,
            "stds": self.stds,
            "vocab": self.vocab,
            "hours_mean": self.hours_mean,
            "hours_std": self.hours_std,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeatureSpace:
        """Read back :meth:`to_json`."""
        return cls(
            capacity=int(data["capacity"]),
            means=dict(data["means"]),
            stds=dict(data["stds"]),
            vocab={k: list(v) for k, v in data["vocab"].items()},
            hours_mean=float(data["hours_mean"]),
            hours_std=float(data["hours_std"]),
        )


#: What a request carries: every schema field but the shipment id and the label (delivered_at).
RECORD_FIELDS: Sequence[str] = tuple(name for name in FIELDS if name not in ("shipment_id", "delivered_at"))


def records_frame(batch: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """Predictor records (ISO timestamps, numbers, strings) as a frame the encoder reads; one-line errors."""
    import datetime as dt

    import polars as pl

    rows = []
    for i, record in enumerate(batch):
        missing = [name for name in RECORD_FIELDS if record.get(name) is None]
        if missing:
            raise DataError(f"record {i}: field {missing[0]!r} is missing")
        row = {name: record[name] for name in RECORD_FIELDS}
        for name in ("created_at", "promised_at"):
            value = row[name]
            try:
                parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
            except ValueError:
                raise DataError(f"record {i}: field {name!r}: {value!r} is not an ISO timestamp") from None
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
            row[name] = parsed
        for name in NUMERIC:
            try:
                row[name] = float(row[name])
            except (TypeError, ValueError):
                raise DataError(f"record {i}: field {name!r}: {row[name]!r} is not a number") from None
            if not math.isfinite(row[name]) or row[name] < 0:
                raise DataError(f"record {i}: field {name!r}: {row[name]!r} must be a finite number >= 0")
        for name in CATEGORICAL:
            row[name] = str(row[name])
        rows.append(row)
    return pl.DataFrame(rows).with_columns(pl.col("created_at", "promised_at").cast(pl.Datetime("us")))
