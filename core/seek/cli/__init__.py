"""The ``seek`` command line: core commands plus whatever installed plugins add."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from seek import __version__
from seek.errors import SeekError
from seek.plugins import PluginManager, get_manager

# Core command modules, each exporting ``command``; listed so start-up imports nothing else.
# A name whose module is not in this checkout yet is skipped (see _core_command).
CORE_COMMANDS = (
    "plugins",
    "apps",
    "run",
    "runs",
    "tune",
    "update",
    "compress",
    "data",
    "label",
    "models",
    "serve",
    "worker",
    "keys",
    "monitor",
    "new",
)


class SeekGroup(click.Group):
    """A click group that prints user errors as one line (traceback only with ``--debug``)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SeekError as exc:
            if ctx.params.get("debug") or os.environ.get("SEEK_DEBUG"):
                raise
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


def _core_command(name: str) -> click.Command | None:
    try:
        module = importlib.import_module(f"seek.cli.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"seek.cli.{name}":  # not written yet in this checkout
            return None
        raise
    command: click.Command = module.command
    return command


def build_cli(manager: PluginManager | None = None) -> click.Group:
    """Build the root command for ``manager`` (the installed plugins by default)."""

    @click.group(cls=SeekGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, prog_name="seek")
    @click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
    @click.option("-v", "--verbose", count=True, help="More log lines (-v: stages, resume, fallbacks; -vv: debug).")
    @click.option("-q", "--quiet", count=True, help="Fewer lines (-q: errors only, no progress lines).")
    @click.pass_context
    def cli(ctx: click.Context, debug: bool, verbose: int, quiet: int) -> None:
        """Seek: train, compress, serve and watch deep-learning models for your domain."""
        ctx.obj = ctx.obj or manager or get_manager()
        ctx.call_on_close(configure_logging(verbose - quiet))

    for name in CORE_COMMANDS:
        command = _core_command(name)
        if command is not None:
            cli.add_command(command)
    (manager or get_manager()).add_commands(cli)
    return cli


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (a live progress display or a test runner swaps it)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:  # StreamHandler.__init__ assigns it; the property always wins
        pass


def configure_logging(verbosity: int) -> Callable[[], None]:
    """``seek -v/-q``: 0 = warnings, 1 = info (stages, resume, skipped stages, fallbacks), 2 = debug, -1 = errors.

    Returns the function that puts the ``seek`` logger back as it was (called when the command ends, so
    an in-process caller such as a test keeps its own logging set-up).
    """
    logger = logging.getLogger("seek")
    saved_level = logger.level
    handler = _StderrHandler()
    if verbosity:
        logger.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO if verbosity == 1 else logging.ERROR)
    logger.addHandler(handler)

    def restore() -> None:
        logger.removeHandler(handler)
        logger.setLevel(saved_level)

    return restore


def current_manager() -> PluginManager:
    """The plugin manager of the running command."""
    ctx = click.get_current_context()
    obj = ctx.find_root().obj
    return obj if isinstance(obj, PluginManager) else get_manager()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``seek`` console script."""
    build_cli().main(args=argv, prog_name="seek")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
