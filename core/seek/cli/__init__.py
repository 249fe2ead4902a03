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

#: Core command modules (each exports ``command``) and the line ``seek --help`` shows for each. The modules
#: are imported only when their command runs, so ``--help`` never pays for them; a test checks each line
#: is the first paragraph of its command's docstring. A module not in this checkout is left out.
CORE_COMMANDS: dict[str, str] = {
    "plugins": "Inspect installed plugins.",
    "apps": "List apps and show their configuration.",
    "run": "Run APP: train, evaluate, write the run folder and print a summary (headline metrics, rejects, times).",
    "runs": "List, inspect, compare and prune past runs (sealed run folders only; no model is loaded).",
    "tune": "Search APP's hyper-parameters (TPE sampler, Hyperband pruner) and write best.toml.",
    "update": "Update APP's model from --from RUN_DIR on --data NEW; writes a new model version with lineage.",
    "compress": "Compress the model of RUN_DIR into a new sealed run folder with a before/after comparison.",
    "data": "Check and clean raw data files (CSV, parquet, JSON lines).",
    "label": "Semi-automatic labelling with Label Studio or Prodigy.",
    "models": "The model registry: which run each app serves.",
    "serve": "Serve every installed app's promoted model over HTTP (OIP v2 + JSON routes + async jobs).",
    "worker": "Run jobs submitted to `seek serve --broker URL` (late ack: a killed worker's job is redelivered).",
    "keys": "Create, list and revoke API keys.",
    "monitor": "Watch served models: the three-axis evaluation matrix and drift.",
    "new": "Create a new domain plugin from Seek's template.",
}


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


class RootGroup(SeekGroup):
    """The ``seek`` group: core commands are loaded on first use; plugin commands are added eagerly."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | {name for name in CORE_COMMANDS if _core_module_exists(name)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in CORE_COMMANDS:
            command = _core_command(cmd_name)
            if command is not None:
                self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = [n for n in self.list_commands(ctx) if not (n in self.commands and self.commands[n].hidden)]
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            # An unloaded core command is shortened exactly as click shortens a loaded one.
            command = self.commands.get(name) or click.Command(name, help=CORE_COMMANDS[name])
            rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _core_module_exists(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(f"seek.cli.{name}") is not None


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

    @click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, prog_name="seek")
    @click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
    @click.option("-v", "--verbose", count=True, help="More log lines (-v: stages, resume, fallbacks; -vv: debug).")
    @click.option("-q", "--quiet", count=True, help="Fewer lines (-q: errors only, no progress lines).")
    @click.pass_context
    def cli(ctx: click.Context, debug: bool, verbose: int, quiet: int) -> None:
        """Seek: train, compress, serve and watch deep-learning models for your domain."""
        ctx.obj = ctx.obj or manager or get_manager()
        ctx.call_on_close(configure_logging(verbose - quiet))

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
