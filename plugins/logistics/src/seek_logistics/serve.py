"""The ETA predictor: delivery hours, ETA timestamp and late probability for one shipment or a batch."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from typing import Any

from seek_logistics.features import FeatureSpace, records_frame


class EtaPredictor:
    """Loads the ``eta`` model and ``features`` of a verified run (hash-checked by the core loader)."""

    def __init__(self, run_dir: str | os.PathLike[str]) -> None:
        from seek.artifacts import load_artifact
        from seek.runs import load_run

        run = load_run(run_dir)
        self.model = load_artifact(run, "eta")
        self.features = FeatureSpace.from_json(load_artifact(run, "features"))

    def predict(self, batch: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """One answer per record: ``hours``, ``eta`` (ISO, UTC) and ``late_probability``."""
        import torch

        if not batch:
            return []
        frame = records_frame(batch)
        x = torch.from_numpy(self.features.encode(frame))
        with torch.no_grad():
            out = self.model(x).float()
        hours = self.features.hours(out[:, 0].numpy())
        late = torch.sigmoid(out[:, 1]).numpy()
        created = frame.get_column("created_at").to_list()
        return [
            {
                "hours": round(float(h), 3),
                "eta": (c + dt.timedelta(hours=float(h))).isoformat(timespec="seconds"),
                "late_probability": round(float(p), 4),
            }
            for h, p, c in zip(hours, late, created, strict=True)
        ]

    def predict_one(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The answer for a single shipment."""
        return self.predict([record])[0]
