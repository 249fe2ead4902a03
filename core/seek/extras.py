"""Optional dependencies: one helper every command calls, one line telling the user what to install.

Every command or function that needs a library outside the core's dependencies imports it through
:func:`require` instead of a bare ``import``::

    from seek.extras import require

    optuna = require("hpo", "optuna")                        # pip install 'seek[hpo]'
    fastapi, uvicorn = require("serve", "fastapi", "uvicorn")  # several modules, one extra
    pydicom = require("dicom", "pydicom", distribution="seek-medical")  # a plugin's own extra

When a module is missing, :class:`MissingExtra` (a :class:`~seek.errors.SeekError`, exit code 2) is
raised; the CLI prints it as one line naming the module, the command and the exact pip command, e.g.
``error: seek tune needs optuna, which is not installed: pip install 'seek[hpo]'``. Call it at the top
of the command (before any run folder exists) so the user loses nothing. A module that is installed
but fails while importing (a broken wheel) is a bug, and stays a traceback.

``tests/test_extras.py`` runs every command that needs an extra with the module made unimportable;
a new command adds one row to its table.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import overload

from seek.errors import SeekError


class MissingExtra(SeekError):
    """An optional dependency is not installed; the message names the extra and the pip command."""

    exit_code = 2

    def __init__(self, module: str, extra: str, distribution: str = "seek", needed_by: str | None = None) -> None:
        self.module, self.extra, self.distribution = module, extra, distribution
        self.pip_command = pip_command(extra, distribution)
        who = needed_by or "this command"
        super().__init__(f"{who} needs {module}, which is not installed: {self.pip_command}")


def pip_command(extra: str, distribution: str = "seek") -> str:
    """The exact command that installs ``extra`` of ``distribution``: ``pip install 'seek[hpo]'``."""
    return f"pip install '{distribution}[{extra}]'"


@overload
def require(extra: str, module: str, /, *, distribution: str = ..., needed_by: str | None = ...) -> ModuleType: ...


@overload
def require(
    extra: str, module: str, other: str, /, *more: str, distribution: str = ..., needed_by: str | None = ...
) -> tuple[ModuleType, ...]: ...


def require(
    extra: str, *modules: str, distribution: str = "seek", needed_by: str | None = None
) -> ModuleType | tuple[ModuleType, ...]:
    """Import ``modules`` (one module back for one name, a tuple for several) or raise :class:`MissingExtra`.

    ``extra`` is the extra of ``distribution`` that installs them; ``needed_by`` names what needs them in
    the message (default: the running ``seek`` command, e.g. "seek tune").
    """
    if not modules:
        raise TypeError("require() needs at least one module name")
    loaded = []
    for name in modules:
        try:
            loaded.append(importlib.import_module(name))
        except ImportError as exc:
            missing = getattr(exc, "name", None)
            # Only the module asked for (or one of its parents) being absent is the user's to fix; a missing
            # dependency deep inside an installed package is a broken install and stays a traceback.
            if missing is not None and not (name == missing or name.startswith(missing + ".")):
                raise
            raise MissingExtra(name, extra, distribution, needed_by or command_path()) from None
    return loaded[0] if len(loaded) == 1 else tuple(loaded)


def command_path() -> str | None:
    """The running click command ("seek tune"), or None outside the CLI."""
    import click

    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return None
    names: list[str] = []
    while ctx.parent is not None:  # the root's own name depends on how it was started: always "seek"
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(["seek", *reversed(names)])
