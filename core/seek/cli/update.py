"""``seek update``: one incremental update of a trained run on new data, into a new run folder with lineage."""

from __future__ import annotations

from pathlib import Path

import click

from seek.cli.output import console, table


@click.command("update")
@click.argument("app_name", metavar="APP")
@click.option(
    "--from",
    "parent",
    required=True,
    type=click.Path(path_type=Path),
    help="The finished run folder whose model is updated (its manifest is verified first).",
)
@click.option("--data", "data_path", required=True, type=click.Path(path_type=Path), help="The new data (one period).")
@click.option("--map", "mapping", multiple=True, metavar="FIELD=COLUMN", help="Column mapping for --data; repeatable.")
@click.option(
    "--strategy",
    type=click.Choice(["naive", "ewc", "online-ewc", "replay"]),
    default=None,
    help="How to keep what the model knew (default: the app's; online EWC keeps memory constant).",
)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a value of the parent's config.")
@click.option("--accept-rejects", is_flag=True, help="Go on even when more input rows are rejected than allowed.")
@click.option("--out", type=click.Path(path_type=Path), help="New run folder (default: runs/<app>/<UTC time>-<id>).")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="auto", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
def command(
    app_name: str,
    parent: Path,
    data_path: Path,
    mapping: tuple[str, ...],
    strategy: str | None,
    overrides: tuple[str, ...],
    accept_rejects: bool,
    out: Path | None,
    device: str,
    seed: int,
    no_progress: bool,
) -> None:
    """Update APP's model from --from RUN_DIR on --data NEW; writes a new model version with lineage."""
    from seek.cli import current_manager
    from seek.cli.run import data_input, format_metric
    from seek.continual.update import run_update
    from seek.runner import RunSettings

    app = current_manager().app(app_name)
    data = data_input(app, data_path, mapping)
    settings = RunSettings(
        out=out, device=device, seed=seed, show_progress=not no_progress, data=data, accept_rejects=accept_rejects
    )
    result = run_update(app, str(parent), settings, strategy, overrides)
    rows = [(key, format_metric(value)) for key, value in result.report.metrics.items()]
    out_console = console()
    out_console.print(table(f"{app.name} update metrics", ["metric", "value"], rows))
    out_console.print(f"run folder: {result.path}")
