"""``seek apps``: the apps installed plugins provide, and each app's config schema."""

from __future__ import annotations

from typing import Any

import click

from seek.cli.output import console, table


@click.group("apps")
def command() -> None:
    """List apps and show their configuration."""


@command.command("list")
def list_apps() -> None:
    """List every runnable app with the plugin that provides it."""
    from seek.cli import current_manager

    manager = current_manager()
    rows = []
    for app in manager.apps():
        owner = manager.owner(app.name)
        rows.append((app.name, f"{owner.distribution} {owner.version}", app.summary))
    for name, dists in sorted(manager.conflicts.items()):
        rows.append((name, " and ".join(dists), "CONFLICT: provided twice; not runnable"))
    console().print(table("Apps", ["app", "plugin", "summary"], rows))


_BOUNDS = {"Ge": ">=", "Gt": ">", "Le": "<=", "Lt": "<"}


def schema_rows(model: Any, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """Flatten a pydantic model's fields into (key, type, default, help) rows."""
    from pydantic import BaseModel
    from pydantic_core import PydanticUndefined

    rows: list[tuple[str, str, str, str]] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        kind = getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.extend(schema_rows(annotation, f"{prefix}{name}."))
            continue
        if field.default is PydanticUndefined:
            default = "(required)" if field.default_factory is None else repr(field.default_factory())
        else:
            default = repr(field.default)
        limits = [
            f"{_BOUNDS[type(m).__name__]} {getattr(m, type(m).__name__.lower())}"
            for m in field.metadata
            if type(m).__name__ in _BOUNDS
        ]
        help_text = (field.description or "") + (f" [{', '.join(limits)}]" if limits else "")
        rows.append((prefix + name, kind, default, help_text))
    return rows


@command.command("show")
@click.argument("app_name", metavar="APP")
def show_app(app_name: str) -> None:
    """Show an app's configuration schema: keys, types, defaults and help."""
    from seek.cli import current_manager

    app = current_manager().app(app_name)
    out = console()
    out.print(f"[bold]{app.name}[/bold]: {app.summary}")
    out.print(
        table(
            "Config (set with --config FILE or --set key=value)",
            ["key", "type", "default", "help"],
            schema_rows(app.Config),
        )
    )
