"""``seek models``: the model registry (list, promote a verified run, roll back)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from seek.cli.output import console, table

if TYPE_CHECKING:
    from seek.serving.registry import Registry


def _registry(root: str | None) -> Registry:
    from seek.runner import default_root
    from seek.serving.registry import Registry

    return Registry(root or default_root())


@click.group("models")
def command() -> None:
    """The model registry: which run each app serves."""


_ROOT = click.option("--root", default=None, help="Runs root (default: $SEEK_RUNS_DIR or ./runs).")


@command.command("list")
@_ROOT
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_models(root: str | None, as_json: bool) -> None:
    """Every promoted version, the current one marked."""
    registry = _registry(root)
    rows, data = [], []
    for app in registry.apps():
        current = registry.current(app)
        for v in registry.versions(app):
            is_current = current is not None and v.version == current.version
            data.append({**v.as_dict(), "current": is_current})
            rows.append((app, f"v{v.version}{' *' if is_current else ''}", v.run, v.sha256[:16], v.promoted))
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    console().print(table("Models (* = served)", ["app", "version", "source run", "sha256", "promoted"], rows))


@command.command("promote")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--app", default=None, help="App name (default: from the run's run.json).")
@_ROOT
def promote(run_dir: str, app: str | None, root: str | None) -> None:
    """Verify RUN_DIR's manifest and make it the served version of its app."""
    version = _registry(root).promote(run_dir, app)
    click.echo(f"{version.app}: v{version.version} <- {version.run} (manifest sha256 {version.sha256[:16]})")


@command.command("rollback")
@click.argument("app_name", metavar="APP")
@_ROOT
def rollback(app_name: str, root: str | None) -> None:
    """Serve the version APP served before the current one."""
    version = _registry(root).rollback(app_name)
    click.echo(f"{version.app}: back to v{version.version} ({version.run})")
