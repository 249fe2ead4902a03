"""``seek run``: train, evaluate and report one app into a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from seek.cli.output import console, table

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
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
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
) -> None:
    """Run APP: train, evaluate, write the run folder and print its metrics."""
    from seek.cli import current_manager
    from seek.config import resolve_config
    from seek.errors import ConfigError
    from seek.runner import RunSettings, execute, stored_config

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
    settings = RunSettings(
        out=out,
        device=device,
        seed=seed,
        resume=resume,
        show_progress=not no_progress,
        data=data,
        accept_rejects=accept_rejects,
    )
    result = execute(app, config, settings)
    out_console = console()
    rows = [(key, format_metric(value)) for key, value in result.report.metrics.items()]
    out_console.print(table(f"{app.name} metrics", ["metric", "value"], rows))
    out_console.print(f"run folder: {result.path}")


def format_metric(value: float) -> str:
    """Integers as integers (58,210), other values with 4 significant digits."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.4g}"


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
