"""``seek plugins``: what is installed, in which version, and what is broken or disabled."""

from __future__ import annotations

import json

import click

from seek.cli.output import console, table


@click.group("plugins")
def command() -> None:
    """Inspect installed plugins."""


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def list_plugins(as_json: bool) -> None:
    """List plugins with distribution, version, apps and status (ok, broken, disabled)."""
    from seek.cli import current_manager

    records = current_manager().plugins()
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in records], indent=2))
        return
    rows = [(r.name, r.distribution, r.version, r.status, ", ".join(r.apps) or "-", r.error or "") for r in records]
    console().print(table("Plugins", ["plugin", "distribution", "version", "status", "apps", "reason"], rows))
