"""The core's own plugin: the apps that ship with ``seek`` itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seek import hookimpl

if TYPE_CHECKING:
    from seek.app import App


@hookimpl
def seek_apps() -> list[App]:
    """The built-in reference app."""
    from seek.apps.digits import DigitsApp

    return [DigitsApp()]
