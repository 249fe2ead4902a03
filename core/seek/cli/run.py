"""``seek run``: train, evaluate and report one app into a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from seek.cli.output import format_metric, run_summary

__all__ = ["command", "data_input", "format_metric", "parse_mapping"]

if TYPE_CHECKING:
    from seek.app import App
    from seek.data.spec import DataInput


@click.command("run")
@click.argument("app_name", metavar="APP")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A .toml, .yaml or .json file with config values.",
)
@click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override one config value (nested keys with dots)."
)
@click.option(
    "--data",
    "data_path",
    type=click.Path(path_type=Path),
    help="Your own data (a file, or a folder/zip where the app reads one) instead of the built-in data.",
)
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Which column of --data holds one of the app's schema fields (see `seek apps show APP`); repeatable.",
)
@click.option(
    "--accept-rejects", is_flag=True, help="Go on even when more input rows are rejected than the app allows."
)
@click.option("--out", type=click.Path(path_type=Path), help="Run folder (default: runs/<app>/<UTC time>-<id>).")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="auto", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds python, numpy and torch.")
@click.option("--resume", is_flag=True, help="Continue the run in --out (its config, seed, device and data).")
@click.option("--tiny", is_flag=True, help="Use the app's seconds-long smoke-test settings.")
@click.option("--no-progress", is_flag=True, help="No live display: one line per stage on stderr instead.")
@click.option("--json", "as_json", is_flag=True, help="Print metrics.json to stdout and nothing else.")
@click.option(
    "--track",
    metavar="mlflow",
    help="Track the run in MLflow (default from $SEEK_TRACKING; logs to $MLFLOW_TRACKING_URI or ./mlruns).",
)
def command(
    app_name: str,
    config_file: Path | None,
    overrides: tuple[str, ...],
    data_path: Path | None,
    mapping: tuple[str, ...],
    accept_rejects: bool,
    out: Path | None,
    device: str,
    seed: int,
    resume: bool,
    tiny: bool,
    no_progress: bool,
    as_json: bool,
    track: str | None,
) -> None:
    """Run APP: train, evaluate, write the run folder and print a summary (headline metrics, rejects, times)."""
    import time

    from seek.cli import current_manager
    from seek.config import resolve_config
    from seek.errors import ConfigError
    from seek.progress import RunProgress
    from seek.runner import RunSettings, config_record, default_root, execute, stored_config
    from seek.runs import new_run_path
    from seek.tracking import tracking_choice

    app = current_manager().app(app_name)
    if resume:
        if config_file or overrides or tiny or data_path or mapping:
            raise ConfigError(
                "--resume continues with the config, seed, device and data stored in the run folder; "
                "drop --config/--set/--tiny/--data/--map"
            )
        if out is None:
            raise ConfigError("--resume needs --out DIR naming the run folder to continue")
        config = stored_config(app, out)
        data = None
    else:
        config = resolve_config(app.Config, config_file, overrides, base=app.tiny if tiny else None)
        data = data_input(app, data_path, mapping)
    out = out or new_run_path(default_root(), app.name)
    tracker = None
    if tracking_choice(track) == "mlflow":
        from seek.tracking import MlflowTracker

        tracker = MlflowTracker(app.name)
    started = time.perf_counter()
    with RunProgress(enabled=not no_progress) as display:
        settings = RunSettings(
            out=out,
            device=device,
            seed=seed,
            resume=resume,
            show_progress=display.live,
            data=data,
            accept_rejects=accept_rejects,
            stage_listeners=[display, *([tracker] if tracker else [])],
            callbacks=[tracker] if tracker else [],
        )
        if tracker is not None:
            tags = {"mlflow.runName": Path(out).name, "seek.seed": seed, "seek.device": device, "seek.resumed": resume}
            tracker.start(config_record(app, config, data), tags)
        try:
            result = execute(app, config, settings)
        except BaseException as exc:
            if tracker is not None:
                tracker.fail(exc)
            raise
        if tracker is not None:
            tracker.finish(result)
    if as_json:
        click.echo((result.path / "metrics.json").read_text(), nl=False)
        return
    summary = run_summary(
        app.name,
        app.headline,
        result.report.metrics,
        result.path,
        result.timings,
        result.rows_rejected,
        time.perf_counter() - started,
    )
    click.echo(summary)
    if tracker is not None:
        click.echo(f"tracked in MLflow: {tracker.uri} (run {tracker.run_id})")


def parse_mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    """``("timestamp=TX_DATETIME",)`` -> ``{"timestamp": "TX_DATETIME"}``, one-line errors."""
    from seek.errors import ConfigError

    columns: dict[str, str] = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise ConfigError(f"--map {pair!r}: expected FIELD=COLUMN")
        columns[name.strip()] = column.strip()
    return columns


def data_input(app: App[Any], data_path: Path | None, mapping: tuple[str, ...]) -> DataInput | None:
    """Check ``--data``/``--map`` against the app's DataSpec before any run folder exists."""
    from seek.errors import ConfigError

    if data_path is None:
        if mapping:
            raise ConfigError("--map applies to --data; give the file too")
        return None
    if app.data is None:
        raise ConfigError(f"--data: app {app.name!r} does not read user data (it declares no DataSpec)")
    return app.data.open(data_path, parse_mapping(mapping), app=app.name)
