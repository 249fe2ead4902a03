"""pytest fixtures for plugin authors (loaded automatically as the ``seek`` pytest plugin).

- ``seek_plugins``: a fresh plugin manager (core apps only) to register plugins into, with a CLI runner.
- ``seek_run_dir``: an empty, temporary run folder (:class:`seek.runs.RunFolder`).
- ``seek_tiny_config``: build an app's Config from its ``tiny`` overrides plus your own.
- ``seek_run_app``: run an app end to end into a temporary folder and return the verified run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import click
    from click.testing import Result

    from seek.app import App, AppConfig
    from seek.plugins import PluginManager, PluginRecord
    from seek.runs import RunFolder, VerifiedRun


class PluginHarness:
    """A plugin manager for one test, plus helpers to register plugins and drive the CLI."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        from seek.plugins import PluginManager

        self.manager: PluginManager = PluginManager(env=env or {})
        self.manager.load_builtins()

    def register(
        self, plugin: object, name: str, distribution: str | None = None, version: str = "0.0.1"
    ) -> PluginRecord:
        """Register a plugin object (a module, class or instance with hookimpls)."""
        return self.manager.register(plugin, name=name, distribution=distribution, version=version)

    def register_failing(self, name: str, error: BaseException, distribution: str | None = None) -> PluginRecord:
        """Register a plugin whose import raises ``error``."""

        def loader() -> object:
            raise error

        return self.manager.load(name, loader, distribution=distribution, version="0.0.1")

    def cli(self) -> click.Group:
        """The ``seek`` command bound to this manager."""
        from seek.cli import build_cli

        return build_cli(self.manager)

    def invoke(self, *args: str, **kwargs: Any) -> Result:
        """Run ``seek ARGS`` in-process and return click's result (stdout and stderr kept apart)."""
        from click.testing import CliRunner

        return CliRunner().invoke(self.cli(), list(args), obj=self.manager, **kwargs)


@pytest.fixture
def seek_plugins() -> PluginHarness:
    """A fresh plugin manager with only the core's apps; register your plugin into it."""
    return PluginHarness()


@pytest.fixture
def seek_run_dir(tmp_path: Path) -> RunFolder:
    """An empty temporary run folder."""
    from seek.runs import RunFolder

    return RunFolder(tmp_path / "run")


@pytest.fixture
def seek_tiny_config() -> Callable[..., AppConfig]:
    """``seek_tiny_config(app, **overrides)``: the app's tiny Config with your overrides on top."""
    from seek.config import deep_merge

    def build(app: App, **overrides: Any) -> AppConfig:
        return app.Config.model_validate(deep_merge(app.tiny, overrides))

    return build


@pytest.fixture
def seek_run_app(tmp_path: Path, seek_tiny_config: Callable[..., AppConfig]) -> Callable[..., VerifiedRun]:
    """``seek_run_app(app, seed=0, **overrides)``: run the app (tiny settings) and return the verified run."""
    from seek.runner import execute
    from seek.runs import load_run

    counter = iter(range(1_000_000))

    def run(app: App, seed: int = 0, **overrides: Any) -> VerifiedRun:
        config = seek_tiny_config(app, **overrides)
        result = execute(
            app, config, out=tmp_path / f"run-{next(counter)}", device="cpu", seed=seed, show_progress=False
        )
        return load_run(result.path)

    return run
