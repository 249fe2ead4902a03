"""``seek medical``: detect nodules in a study (findings JSON, overlays, DICOM SEG) and write synthetic studies."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("medical")
def medical() -> None:
    """CT lung-nodule detection from DICOM."""


@medical.command("detect")
@click.argument("study", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--model",
    "model_dir",
    type=click.Path(exists=True, file_okay=False),
    help="A medical-nodule run folder (default: the weights shipped with seek-medical).",
)
@click.option("--series", help="SeriesInstanceUID to read when the study holds several series.")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder (default: STUDY-findings)."
)
@click.option("--seg", is_flag=True, help="Also write a DICOM SEG (highdicom) referencing the source series.")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu", show_default=True)
def detect_command(
    study: Path, model_dir: str | None, series: str | None, out: Path | None, seg: bool, device: str
) -> None:
    """Detect nodules in STUDY (a folder or zip of DICOM files) and write findings.json and overlays."""
    from seek.app import resolve_device
    from seek.io import atomic_write_json
    from seek_medical.figures import finding_panels, overlay_grid
    from seek_medical.serve import findings_document
    from seek_medical.study_run import load_detector

    resolved = resolve_device(device)
    predictor = load_detector(model_dir, resolved)
    source, detection = predictor.detect(study, series)
    folder = out or study.with_name(study.name.removesuffix(".zip") + "-findings")
    folder.mkdir(parents=True, exist_ok=True)
    document = findings_document(detection, source, predictor.source)
    atomic_write_json(folder / "findings.json", document)
    panels = finding_panels(
        detection.iso, detection.findings, detection.masks, detection.boxes, predictor.settings.spacing_mm
    )
    figure = overlay_grid(panels, f"Findings in series {source.series_uid}")
    figure.savefig(folder / "findings.png", dpi=110)
    click.echo(f"{len(detection.findings)} findings in {detection.seconds:.1f} s -> {folder / 'findings.json'}")
    for finding in detection.findings:
        centre = ", ".join(f"{v:.1f}" for v in finding.centre_mm)
        click.echo(
            f"  ({centre}) mm  {finding.diameter_mm:.1f} mm  p={finding.probability:.2f}  {finding.sop_instance_uid}"
        )
    if seg:
        from seek_medical.seg import write_seg

        path = write_seg(study, source, detection, folder / "seg.dcm")
        click.echo(f"DICOM SEG -> {path}")


@medical.command("simulate")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--studies", default=1, show_default=True, type=click.IntRange(1, 1000))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--fov", "fov_mm", default=160.0, show_default=True, type=click.FloatRange(48, 500), help="mm")
@click.option("--length", "z_mm", default=48.0, show_default=True, type=click.FloatRange(12, 400), help="mm along z")
def simulate_command(out: Path, studies: int, seed: int, fov_mm: float, z_mm: float) -> None:
    """Write synthetic CT studies (DICOM + ground_truth.json) under OUT/study-N."""
    from seek_medical.simulate import simulate_study, write_study

    for index in range(studies):
        study = simulate_study(seed + index, fov_mm=fov_mm, z_extent=z_mm)
        files = write_study(study, out / f"study-{index}")
        click.echo(f"{out / f'study-{index}'}: {len(files)} slices, {len(study.thorax.nodules)} nodules")
