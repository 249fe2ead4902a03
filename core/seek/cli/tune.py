"""``seek tune``: Optuna hyper-parameter search over an app's tunable settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from seek.cli.output import console, table


@click.command("tune")
@click.argument("app_name", metavar="APP")
@click.option("--trials", type=click.IntRange(1, 10_000), required=True, help="Trials this process runs.")
@click.option(
    "--storage",
    help="Study storage: none = in memory; journal:PATH for several local processes; "
    "a postgresql:// URL for workers on many machines.",
)
@click.option("--study", "study_name", help="Study name (workers sharing a storage must use the same one).")
@click.option(
    "--space",
    multiple=True,
    metavar="NAME=LOW:HIGH[:log|:int]|A,B",
    help="Override a search range of one of the app's tunable parameters, e.g. lr=1e-4:1e-2, "
    "num_leaves=15,31,63 or min_child_samples=10:100:int; repeatable.",
)
@click.option(
    "--two-phase",
    is_flag=True,
    help="Phase 1: lr + weight decay; phase 2: dropout + batch size with the top 20% of phase-1 combinations.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Base config file; searched values override it.",
)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Base config override; repeatable.")
@click.option("--tiny", is_flag=True, help="Start from the app's seconds-long smoke-test settings.")
@click.option("--out", type=click.Path(path_type=Path), help="Folder for the search (default runs/<app>-tune/...).")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="auto", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sampler and of every trial.")
@click.option("--no-progress", is_flag=True, help="No live display: one line per trial on stderr instead.")
def command(
    app_name: str,
    trials: int,
    storage: str | None,
    study_name: str | None,
    space: tuple[str, ...],
    two_phase: bool,
    config_file: Path | None,
    overrides: tuple[str, ...],
    tiny: bool,
    out: Path | None,
    device: str,
    seed: int,
    no_progress: bool,
) -> None:
    """Search APP's hyper-parameters (TPE sampler, Hyperband pruner) and write best.toml.

    The parameters and ranges searched are the app's (its TuneSpec); pruning applies where the app's
    metric is reported every epoch."""
    from seek.app import resolve_device
    from seek.cli import current_manager
    from seek.config import resolve_config
    from seek.extras import require
    from seek.progress import RunProgress
    from seek.runner import default_root
    from seek.runs import RunFolder
    from seek.tuning import TuneSettings, parse_space, tune, tune_out_path

    require("hpo", "optuna")
    app = current_manager().app(app_name)
    base = resolve_config(app.Config, config_file, overrides, base=app.tiny if tiny else None).model_dump(mode="json")
    search_space = parse_space(space, app)
    resolved_device = resolve_device(device)
    folder = RunFolder(out or tune_out_path(default_root(), app.name))
    folder.write_json("config.json", base)
    with RunProgress(enabled=not no_progress) as display:
        bar = display.task("trials", total=trials)

        def on_stage(event: str, stage: str, seconds: float) -> None:
            if event == "start":
                bar.advance(0, info=stage)

        def on_trial(study: Any, trial: Any) -> None:
            value = "" if trial.value is None else f" {app.tune.metric if app.tune else 'value'} {trial.value:.4g}"
            seconds = trial.duration.total_seconds() if trial.duration is not None else 0.0
            display.line(f"trial {trial.number}: {trial.state.name.lower()}{value} ({seconds:.1f} s)")
            bar.advance(1, info="")

        settings = TuneSettings(
            trials=trials,
            space=search_space,
            storage=storage,
            study_name=study_name,
            two_phase=two_phase,
            seed=seed,
            device=resolved_device,
            stage_listeners=[on_stage],
            trial_callbacks=[on_trial],
        )
        report = tune(app, base, settings, folder)
        bar.done()
    folder.write_report(f"{app.name} tune", report, base)
    folder.seal()
    rows = [(key, f"{value:.4g}") for key, value in report.metrics.items()]
    console().print(table(f"{app.name} search", ["metric", "value"], rows))
    console().print(
        f"search folder: {folder.path}\nreproduce the best trial: "
        f"seek run {app.name} --config {folder.path / 'best.toml'} --seed {seed}"
    )
