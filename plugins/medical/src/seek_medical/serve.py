"""The predictor serving and async jobs call: a study (a DICOM folder or zip path) in, findings out."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from seek.errors import DataError
from seek_medical.pipeline import DetectorSettings


def findings_document(detection: Any, source: Any, model: str) -> dict[str, Any]:
    """The findings JSON of one study (``seek medical detect``, the predictor and ``--data`` runs write this)."""
    return {
        "study_instance_uid": source.study_uid,
        "series_instance_uid": source.series_uid,
        "frame_of_reference_uid": source.frame_of_reference_uid,
        "coordinates": "LPS mm (DICOM patient coordinates); centre_voxel is (column, row, slice) of the source series",
        "model": model,
        "seconds": round(detection.seconds, 3),
        "notes": list(source.notes),
        "findings": [f.to_json() for f in detection.findings],
    }


class NodulePredictor:
    """Detect nodules in each record's study: ``{"study": PATH, "series": UID?}`` -> the findings document."""

    def __init__(self, model: Any, settings: DetectorSettings, source: str, device: str = "cpu") -> None:
        self.model = model
        self.settings = settings
        self.source = source
        self.device = device

    @classmethod
    def from_run(cls, run_dir: str | os.PathLike[str], device: str = "cpu") -> NodulePredictor:
        """The detector of a finished run folder (hash-checked by the core loader)."""
        from seek.artifacts import artifacts, load_artifact
        from seek.runs import load_run

        run = load_run(run_dir)
        model = load_artifact(run, "detector", device=device)
        settings = DetectorSettings(**artifacts(run)["detector"].meta["settings"])
        return cls(model, settings, f"run {run.path}", device)

    @classmethod
    def shipped(cls, device: str = "cpu") -> NodulePredictor:
        """The weights shipped inside seek-medical."""
        from seek_medical.weights import load_shipped

        model, card = load_shipped(device)
        return cls(model, DetectorSettings(**card["settings"]), f"shipped {card['sha256'][:12]}", device)

    def detect(self, study: str | os.PathLike[str], series: str | None = None) -> tuple[Any, Any]:
        """(source Volume, Detection) for one study path."""
        from seek_medical.dicom import read_series

        source = read_series(study, series=series)
        return source, self.settings.run(self.model, source, self.device)

    def predict(self, batch: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """One findings document per record."""
        answers = []
        for index, record in enumerate(batch):
            study = record.get("study")
            if not isinstance(study, str) or not study:
                raise DataError(f"record {index}: field 'study' must be the path of a DICOM folder or zip")
            source, detection = self.detect(study, record.get("series"))
            answers.append({"study": study, **findings_document(detection, source, self.source)})
        return answers
