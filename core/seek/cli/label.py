"""``seek label``: pick the rows a model is least sure of for annotation, and import completed annotations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from seek.cli import SeekGroup


@click.group("label", cls=SeekGroup)
def command() -> None:
    """Semi-automatic labelling with Label Studio or Prodigy."""


@command.command("suggest")
@click.argument("app_name", metavar="APP")
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False), help="A finished run folder of APP.")
@click.option(
    "--data", "data_file", required=True, type=click.Path(dir_okay=False), help="Unlabelled rows (CSV/parquet/JSONL)."
)
@click.option("--map", "mapping", multiple=True, metavar="FIELD=COLUMN", help="Column of --data holding an app field.")
@click.option("--n", "n", default=200, show_default=True, type=click.IntRange(min=1), help="How many rows to pick.")
@click.option(
    "--strategy",
    type=click.Choice(["least_confidence", "margin", "entropy"]),
    default="least_confidence",
    show_default=True,
)
@click.option("--diversity", is_flag=True, help="Spread the picks over k-means clusters of the numeric columns.")
@click.option(
    "--format", "fmt", type=click.Choice(["label-studio", "prodigy"]), default="label-studio", show_default=True
)
@click.option("--text-field", default="text", show_default=True, help="Field shown as the task text (Prodigy).")
@click.option("--out", type=click.Path(dir_okay=False), help="Tasks file (default: tasks-<APP>.jsonl).")
@click.option("--batch-size", default=1024, show_default=True, type=click.IntRange(min=1))
def suggest(
    app_name: str,
    run_dir: str,
    data_file: str,
    mapping: tuple[str, ...],
    n: int,
    strategy: str,
    diversity: bool,
    fmt: str,
    text_field: str,
    out: str | None,
    batch_size: int,
) -> None:
    """Export the N rows APP's model is least sure of as JSONL tasks with pre-labels."""
    import numpy as np
    import polars as pl

    from seek.cli import current_manager
    from seek.data.frames import read_frame
    from seek.data.labeling import export_tasks, probabilities_from_predictions, select_uncertain

    app = current_manager().app(app_name)
    predictor = app.predictor(run_dir)
    frame = read_frame(data_file)
    if mapping:
        from seek.cli.run import parse_mapping
        from seek.data.schema import apply_mapping

        columns = parse_mapping(mapping)
        frame = apply_mapping(frame, app.data.resolve_mapping(columns, app.name) if app.data else columns, data_file)
    records = frame.to_dicts()
    predictions: list[dict[str, Any]] = []
    for start in range(0, len(records), batch_size):
        predictions.extend(predictor.predict(records[start : start + batch_size]))  # type: ignore[arg-type]
    probs, labels = probabilities_from_predictions(predictions)
    features = None
    if diversity:
        numeric = [c for c, d in frame.schema.items() if d.is_numeric()]
        if not numeric:
            raise click.UsageError(f"--diversity needs numeric columns in {data_file}")
        features = frame.select(pl.col(numeric).cast(pl.Float64).fill_null(0.0).fill_nan(0.0)).to_numpy()
        features = (features - features.mean(axis=0)) / (features.std(axis=0) + 1e-9)
    chosen = select_uncertain(probs, min(n, len(records)), strategy=strategy, features=features)  # type: ignore[arg-type]
    target = Path(out or f"tasks-{app_name}.jsonl")
    export_tasks(
        target,
        [records[i] for i in chosen],
        probs[np.asarray(chosen, dtype=int)],
        labels,
        fmt=fmt,  # type: ignore[arg-type]
        model_version=f"{app_name}:{Path(run_dir).name}",
        text_field=text_field,
    )
    click.echo(
        f"{len(chosen)} of {len(records)} rows -> {target} ({fmt}, {strategy}{', diverse' if diversity else ''})"
    )


@command.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--labels", help="Comma-separated allowed labels; any other label is an error.")
@click.option("--id-field", default="id", show_default=True, help="Field holding each row's id.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the merged labels (parquet).")
def import_(file: str, labels: str | None, id_field: str, out: str | None) -> None:
    """Validate completed annotations in FILE, merge them by majority vote and report agreement."""
    from seek.data.labeling import import_annotations
    from seek.io import atomic_path

    allowed = [s.strip() for s in labels.split(",") if s.strip()] if labels else None
    result = import_annotations(file, labels=allowed, id_field=id_field)
    if out:
        with atomic_path(out) as tmp:
            result.merged.drop("tie").write_parquet(tmp)
    click.echo(f"{result.rows.height} annotations of {result.merged.height} items" + (f" -> {out}" if out else ""))
    agreement = result.agreement
    if agreement.get("items_with_several_annotators"):
        click.echo(
            f"agreement on {agreement['items_with_several_annotators']} items: observed "
            f"{agreement['observed_agreement']:.2f}, Fleiss' kappa {agreement['fleiss_kappa']:.2f}"
        )
    for conflict in result.conflicts[:20]:
        parts = "; ".join(f"{c['label']} by {', '.join(c['annotators'])}" for c in conflict["labels"])
        click.echo(f"conflict on id {conflict['id']}: {parts}")
    ties = result.merged.filter(result.merged["tie"]).height
    if ties:
        click.echo(f"{ties} items tied between labels: the alphabetically first label was kept; review them")
