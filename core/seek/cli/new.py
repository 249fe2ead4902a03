"""``seek new``: scaffold a new domain plugin from the template (Copier), and refresh the cached template."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from seek.cli import SeekGroup


@click.group("new", cls=SeekGroup)
def command() -> None:
    """Create a new domain plugin from Seek's template."""


@command.command("domain")
@click.argument("name")
@click.option("--out", type=click.Path(path_type=Path), help="Folder for the plugin (default: ./seek-NAME).")
@click.option("--app", "app_name", help="Name of the plugin's first app (default: NAME-score).")
@click.option("--description", help="One line saying what the app predicts.")
@click.option("--terms", help="Comma-separated words of the domain for its term dictionary.")
@click.option("--defaults", is_flag=True, help="Ask nothing: use the defaults for every answer not given.")
@click.option("--force", is_flag=True, help="Render into a folder that is not empty.")
def domain(
    name: str,
    out: Path | None,
    app_name: str | None,
    description: str | None,
    terms: str | None,
    defaults: bool,
    force: bool,
) -> None:
    """Render a plugin distribution seek-NAME (package seek_NAME) that installs, tests and runs as it is."""
    from seek import __version__
    from seek.cli import current_manager
    from seek.scaffold import check_name, render

    manager = current_manager()
    installed = {r.name for r in manager.plugins()} | {r.distribution for r in manager.plugins()}
    app = app_name or f"{name.replace('_', '-')}-score"
    check_name(name, installed, {a.name for a in manager.apps()}, app)
    answers = {"app_name": app}
    if description:
        answers["description"] = description
    if terms:
        answers["terms"] = terms
    target = out or Path(f"seek-{name.replace('_', '-')}")
    repo = render(name, target, answers, defaults=defaults or not sys.stdin.isatty(), force=force, version=__version__)
    click.echo(f"seek-{name.replace('_', '-')} -> {target}")
    if repo.ref is None:
        click.echo("note: git is not installed, so this plugin cannot follow template updates (copier update)")
    click.echo(f"next: pip install -e {target} && seek run {app} && python -m pytest {target}")


@command.command("refresh")
def refresh() -> None:
    """Commit the installed seek's template to the cached template repository (before `copier update`)."""
    from seek import __version__
    from seek.scaffold import template_repo

    repo = template_repo(__version__)
    click.echo(f"template {repo.path} at {repo.ref}")
