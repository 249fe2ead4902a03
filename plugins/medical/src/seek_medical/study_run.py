"""``seek run medical-nodule --data STUDY``: detect nodules in the user's study with a trained detector."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from seek.app import Figure, Report, RunContext
from seek.errors import ConfigError


def load_detector(model_dir: str | None, device: str) -> Any:
    """The predictor of ``model_dir`` (a run folder), or the shipped weights."""
    from seek_medical.serve import NodulePredictor

    return NodulePredictor.from_run(model_dir, device) if model_dir else NodulePredictor.shipped(device)


def detect_user_study(config: Any, ctx: RunContext) -> Report:
    """Read the --data study, detect, write findings.json and overlays; score it when ground_truth.json is beside it."""
    from seek_medical.dicom import read_series
    from seek_medical.evaluate import StudyResult, froc
    from seek_medical.figures import finding_panels, overlay_grid
    from seek_medical.serve import findings_document

    if ctx.data is None:
        raise ConfigError("medical-nodule: detect_user_study needs --data")
    with ctx.stage("load"):
        source = read_series(ctx.data.path, series=config.series)
    predictor = load_detector(config.model_dir, ctx.device)
    with ctx.stage("detect"):
        detection = predictor.settings.run(predictor.model, source, ctx.device)
    document = findings_document(detection, source, predictor.source)
    ctx.run.write_json("findings.json", document)
    settings = predictor.settings
    panels = finding_panels(detection.iso, detection.findings, detection.masks, detection.boxes, settings.spacing_mm)
    ctx.run.save_figure(overlay_grid(panels, f"Findings in series {source.series_uid}"), "findings.png")
    ctx.artifacts.save_module(
        "detector",
        predictor.model,
        "seek_medical.model:build",
        config=predictor.model.config,
        meta={"settings": asdict(settings), "source": predictor.source},
    )
    metrics: dict[str, float] = {
        "findings": float(len(detection.findings)),
        "slices": float(source.shape[0]),
    }
    truth_file = ctx.data.path / "ground_truth.json" if ctx.data.kind == "folder" else None
    if truth_file is not None and truth_file.is_file():
        truth = json.loads(truth_file.read_text())["nodules"]
        metrics.update(froc([StudyResult(truth, document["findings"])]).metrics)
    rows = "\n".join(
        f"| {i + 1} | {', '.join(f'{v:.1f}' for v in f.centre_mm)} | {f.diameter_mm:.1f} | {f.volume_mm3:.0f} | "
        f"{f.probability:.3f} | {f.sop_instance_uid} |"
        for i, f in enumerate(detection.findings)
    )
    table = "| # | centre (LPS mm) | diameter (mm) | volume (mm³) | probability | central slice SOPInstanceUID |\n"
    table += "|---|---|---|---|---|---|\n" + rows
    notes = "\n".join(f"- {note}" for note in source.notes)
    return Report(
        metrics=metrics,
        summary=f"{len(detection.findings)} findings in series {source.series_uid} ({predictor.source} detector).",
        sections=[("Findings", table), ("Reading the series", notes)],
        figures=[Figure("Findings", "findings.png")],
    )
