"""Entry point of the ``seek`` plugin group: the medical-nodule app, ``seek medical`` commands, the term dictionary."""

from __future__ import annotations

from typing import Any

from seek import hookimpl


@hookimpl
def seek_apps() -> list[Any]:
    """The medical vertical's apps."""
    from seek_medical.app import NoduleApp

    return [NoduleApp()]


@hookimpl
def seek_commands(cli: Any) -> None:
    """``seek medical detect`` and ``seek medical simulate``."""
    from seek_medical.cli import medical

    cli.add_command(medical)


@hookimpl
def seek_term_dictionaries() -> list[Any]:
    """Chest CT and lung-nodule vocabulary (Fleischner / Lung-RADS terms)."""
    from seek.data.terms import TermDictionary

    return [TermDictionary.from_package("seek_medical", "terms.json")]
