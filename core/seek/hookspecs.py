"""Hook specifications of the ``seek`` plugin system; plugins implement them with ``seek.hookimpl``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from seek.app import App

hookspec = pluggy.HookspecMarker("seek")


@hookspec
def seek_apps() -> list[App[Any]]:  # type: ignore[empty-body]
    """Return the App objects this plugin provides.

    Called once, the first time apps are needed (``seek run``, ``seek apps list``, serving; never for
    ``seek --help``). Must return a list of :class:`seek.App` instances; anything else marks the plugin
    as broken. Keep it cheap: build the App objects, do not train.
    """


@hookspec
def seek_commands(cli: click.Group) -> None:
    """Add domain-specific click commands or groups to the ``seek`` command line.

    Called once while the CLI is built, after the core commands exist. A plugin that raises here
    is marked broken and its commands are left out; the CLI still starts.
    """


@hookspec
def seek_term_dictionaries() -> list[Any]:  # type: ignore[empty-body]
    """Return domain terminology dictionaries (:class:`seek.data.terms.TermDictionary`).

    Used by the data pipeline to protect terms from augmentation, to normalise variants to one
    canonical form, and to extend a tokenizer's vocabulary.
    """
