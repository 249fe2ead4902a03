"""The built-in run: simulate phantoms, train the detector with the core Trainer, evaluate held-out DICOM studies."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from seek.app import Figure, Report, RunContext
from seek_medical.pipeline import DetectorSettings, evaluate_held_out

SIMULATOR_LIMITS = (
    "Synthetic phantoms, not patients: the torso is scaled to the field of view, and fissures, emphysema, motion, "
    "streaks, calcified, cavitated and spiculated nodules are not modelled (see seek_medical.phantom)."
)


def seeds(base: int, count: int, offset: int) -> list[int]:
    """Study seeds of one split (train/val/test never overlap for one run seed)."""
    return [base * 1_000_003 + offset + i for i in range(count)]


def settings_of(config: Any) -> DetectorSettings:
    """How the trained detector is applied (stored with its weights)."""
    d = config.detect
    return DetectorSettings(
        d.spacing_mm, d.window, d.overlap, d.threshold, d.max_candidates, d.lung_filter, config.crf.model_dump()
    )


def train_and_evaluate(config: Any, ctx: RunContext) -> Report:
    """Simulate, train, evaluate on held-out studies through DICOM, and report."""
    from seek_medical.data import PatchDataset, fixed_patches, training_volumes
    from seek_medical.model import build, detection_loss

    sim, train, spacing = config.simulation, config.train, config.detect.spacing_mm
    progress = ctx.progress if ctx.show_progress else None
    volume_args = (sim.fov_mm, sim.z_extent_mm, spacing, tuple(sim.nodules_per_study), tuple(sim.diameter_mm))
    train_args = (sim.train_fov_mm or sim.fov_mm, *volume_args[1:])
    with ctx.stage("simulate"):
        train_volumes = training_volumes(seeds(ctx.seed, sim.train_studies, 0), *train_args, ctx.device, progress)
        val_volumes = training_volumes(seeds(ctx.seed, sim.val_studies, 100_000), *volume_args, ctx.device)
        val = fixed_patches(val_volumes, sim.val_patches, train.patch, ctx.seed + 1)
        del val_volumes
    dataset = PatchDataset(
        train_volumes,
        train.samples_per_epoch,
        train.patch,
        spacing,
        config.augment,
        train.nodule_share,
        train.hard_share,
    )
    model = build(**config.model.model_dump())
    trainer_config = ctx.trainer_config(
        epochs=train.epochs,
        batch_size=train.batch_size,
        lr=train.lr,
        weight_decay=train.weight_decay,
        precision=train.precision,
        early_stopping_patience=train.patience,
        monitor="val_loss",
        mode="min",
        checkpoint_every_steps=train.checkpoint_every_steps,
        warmup_ratio=0.05,
    )
    trainer = ctx.trainer(model, trainer_config, loss_fn=detection_loss)
    with ctx.stage("train"):
        fit = trainer.fit(dataset, val, resume=ctx.resume)
    del train_volumes, dataset
    settings = settings_of(config)
    ctx.artifacts.save_module(
        "detector", model, "seek_medical.model:build", config=model.config, meta={"settings": asdict(settings)}
    )
    fit_metrics = {
        "val_loss": float(fit.best_metric) if fit.best_metric is not None else float("nan"),
        "epochs_trained": len(fit.history),
        "parameters": model.num_parameters(),
    }
    if sim.test_studies == 0:
        return Report(
            metrics=fit_metrics,
            summary="Trained only (simulation.test_studies=0): evaluate the "
            "detector with `seek run medical-nodule --data` or benchmarks/bench_medical_eval.py.",
        )
    with ctx.stage("evaluate"):
        evaluation = evaluate_held_out(
            model, settings, seeds(ctx.seed, sim.test_studies, 200_000), sim, ctx.device, progress
        )
    metrics = evaluation.metrics()
    metrics.update(fit_metrics)
    return _report(ctx, evaluation, metrics, config, model.num_parameters())


def _report(ctx: RunContext, evaluation: Any, metrics: dict[str, float], config: Any, parameters: int) -> Report:
    from seek_medical.evaluate import froc_figure, froc_table, table_by_size
    from seek_medical.figures import overlay_grid

    ctx.run.save_figure(froc_figure(evaluation.froc), "froc.png")
    ctx.run.save_figure(
        overlay_grid(evaluation.found_panels[:16], "Found nodules (green: reference, yellow: detection)"), "found.png"
    )
    ctx.run.save_figure(overlay_grid(evaluation.missed_panels[:16], "Missed nodules (red: reference)"), "missed.png")
    segmentation = (
        "| mask | Dice | diameter error (mm) |\n|---|---|---|\n"
        f"| thresholded probability map | {metrics['dice_no_crf']:.3f} | {metrics['diameter_error_no_crf_mm']:.2f} |\n"
        f"| dense 3D CRF | {metrics['dice_crf']:.3f} | {metrics['diameter_error_crf_mm']:.2f} |"
    )
    sim = config.simulation
    summary = (
        f"{sim.train_studies} phantom studies for training, {sim.test_studies} held out and evaluated through DICOM "
        f"(written, read back, resampled to {config.detect.spacing_mm} mm); a {parameters:,}-parameter 3D CNN with "
        f"channel + spatial attention. CPM {metrics['froc_cpm']:.3f}, sensitivity {metrics['sensitivity_at_1_fp']:.3f} "
        f"at 1 FP/scan over {int(metrics['test_nodules_ge3mm'])} nodules >= 3 mm. {SIMULATOR_LIMITS}"
    )
    return Report(
        metrics=metrics,
        summary=summary,
        sections=[
            ("FROC (LUNA16 protocol, nodules >= 3 mm)", froc_table(metrics)),
            ("Sensitivity by size, type and attachment (1 FP/scan operating point)", table_by_size(evaluation.froc)),
            ("Segmentation of hit nodules", segmentation),
        ],
        figures=[
            Figure("FROC", "froc.png"),
            Figure("Found nodules", "found.png"),
            Figure("Missed nodules", "missed.png"),
            Figure("Loss curves", "loss_curve.png"),
        ],
    )
