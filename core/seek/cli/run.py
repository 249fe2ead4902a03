"""``seek run``: train, evaluate and report one app into a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from seek.cli.output import console, table

if TYPE_CHECKING:
    from seek.app import App


@click.command("run")
@click.argument("app_name", metavar="APP")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A .toml, .yaml or .json file with config values.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override one config value (nested keys with dots); repeatable.",
)
@click.option(
    "--data",
    "data_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Your own data file (CSV, parquet, JSON lines) for apps that read one (config key `data`).",
)
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Which column of --data holds a schema field (config key `column_map`); repeatable.",
)
@click.option("--out", type=click.Path(path_type=Path), help="Run folder (default: runs/<app>/<UTC time>-<id>).")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="auto", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds python, numpy and torch.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--tiny", is_flag=True, help="Use the app's seconds-long smoke-test settings.")
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
def command(
    app_name: str,
    config_file: Path | None,
    overrides: tuple[str, ...],
    data_file: Path | None,
    mapping: tuple[str, ...],
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
    from seek.runner import execute, stored_config

    app = current_manager().app(app_name)
    updates = data_updates(app, data_file, mapping)
    if resume:
        if config_file or overrides or tiny or updates:
            raise ConfigError(
                "--resume continues with the config stored in the run folder; drop --config/--set/--tiny/--data/--map"
            )
        if out is None:
            raise ConfigError("--resume needs --out DIR naming the run folder to continue")
        config = stored_config(app, out)
    else:
        config = resolve_config(app.Config, config_file, overrides, base=app.tiny if tiny else None, updates=updates)
    result = execute(app, config, out=out, device=device, seed=seed, resume=resume, show_progress=not no_progress)
    out_console = console()
    rows = [(key, f"{value:.4g}") for key, value in result.report.metrics.items()]
    out_console.print(table(f"{app.name} metrics", ["metric", "value"], rows))
    out_console.print(f"run folder: {result.path}")


def data_updates(app: App, data_file: Path | None, mapping: tuple[str, ...]) -> dict[str, Any]:
    """Turn ``--data`` and ``--map`` into config values, for apps whose Config has ``data``/``column_map``."""
    from seek.errors import ConfigError

    updates: dict[str, Any] = {}
    fields = app.Config.model_fields
    if data_file is not None:
        if "data" not in fields:
            raise ConfigError(f"--data: app {app.name!r} does not read a data file (its config has no 'data' key)")
        if not data_file.is_file():
            raise ConfigError(f"--data {data_file}: file not found")
        updates["data"] = str(data_file)
    if mapping:
        if "column_map" not in fields:
            raise ConfigError(f"--map: app {app.name!r} takes no column mapping (its config has no 'column_map' key)")
        columns: dict[str, str] = {}
        for pair in mapping:
            field, sep, column = pair.partition("=")
            if not sep or not field.strip() or not column.strip():
                raise ConfigError(f"--map {pair!r}: expected FIELD=COLUMN, e.g. timestamp=TX_DATETIME")
            columns[field.strip()] = column.strip()
        updates["column_map"] = columns
    return updates
