"""``seek run``: train, evaluate and report one app into a run folder."""

from __future__ import annotations

from pathlib import Path

import click

from seek.cli.output import console, table


@click.command("run")
@click.argument("app_name", metavar="APP")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="A .toml, .yaml or .json file with config values.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override one config value (nested keys with dots); repeatable.")
@click.option("--out", type=click.Path(path_type=Path), help="Run folder (default: runs/<app>/<UTC time>-<id>).")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="auto", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds python, numpy and torch.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--tiny", is_flag=True, help="Use the app's seconds-long smoke-test settings.")
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
def command(app_name: str, config_file: Path | None, overrides: tuple[str, ...], out: Path | None,
            device: str, seed: int, resume: bool, tiny: bool, no_progress: bool) -> None:
    """Run APP: train, evaluate, write the run folder and print its metrics."""
    from seek.cli import current_manager
    from seek.config import resolve_config
    from seek.errors import ConfigError
    from seek.runner import execute, stored_config

    app = current_manager().app(app_name)
    if resume:
        if config_file or overrides or tiny:
            raise ConfigError("--resume continues with the config stored in the run folder; drop --config/--set/--tiny")
        if out is None:
            raise ConfigError("--resume needs --out DIR naming the run folder to continue")
        config = stored_config(app, out)
    else:
        config = resolve_config(app.Config, config_file, overrides, base=app.tiny if tiny else None)
    result = execute(app, config, out=out, device=device, seed=seed, resume=resume, show_progress=not no_progress)
    out_console = console()
    rows = [(key, f"{value:.4g}") for key, value in result.report.metrics.items()]
    out_console.print(table(f"{app.name} metrics", ["metric", "value"], rows))
    out_console.print(f"run folder: {result.path}")
