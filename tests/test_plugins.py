"""The plugin manager: loading, broken plugins, conflicts, enable/disable controls."""

from __future__ import annotations

import json
from importlib import metadata

import click
import pytest

import seek
from seek.plugins import PluginManager
from seek.testing import PluginHarness


class _NotAnApp:
    name = "fake"


class NonAppPlugin:
    @seek.hookimpl
    def seek_apps(self):
        return [_NotAnApp()]


class NotAListPlugin:
    @seek.hookimpl
    def seek_apps(self):
        return "quickstart-digits"


class RaisingAppsPlugin:
    @seek.hookimpl
    def seek_apps(self):
        raise RuntimeError("database unreachable")


def _app_plugin(app_name: str):
    class Config(seek.AppConfig):
        pass

    class TheApp(seek.App):
        name = app_name
        summary = f"{app_name} for tests"

        def run(self, config, ctx):
            return seek.Report(metrics={"one": 1.0})

    TheApp.Config = Config

    class Plugin:
        @seek.hookimpl
        def seek_apps(self):
            return [TheApp()]

    return Plugin()


@pytest.mark.hook("seek_apps")
def test_hook_seek_apps_registers_apps_with_distribution_and_version(seek_plugins: PluginHarness, hello_plugin):
    record = seek_plugins.register(hello_plugin, "hello", distribution="seek-hello", version="0.3.1")
    assert record.status == "ok"
    assert record.apps == ["hello-stats"]
    assert seek_plugins.manager.app("hello-stats").summary.startswith("Mean")
    assert seek_plugins.manager.owner("hello-stats").version == "0.3.1"
    names = [app.name for app in seek_plugins.manager.apps()]
    assert names == ["hello-stats", "quickstart-digits"]


def test_plugin_raising_on_import_is_listed_broken_and_others_still_run(seek_plugins: PluginHarness, hello_plugin):
    seek_plugins.register_failing(
        "exploding", ImportError("No module named 'tensorflow'"), distribution="seek-exploding"
    )
    seek_plugins.register(hello_plugin, "hello", distribution="seek-hello")
    result = seek_plugins.invoke("plugins", "list", "--json")
    assert result.exit_code == 0, result.output
    listing = {row["name"]: row for row in json.loads(result.output)}
    assert listing["exploding"]["status"] == "broken"
    assert "tensorflow" in listing["exploding"]["error"]
    assert listing["hello"]["status"] == "ok"
    assert [a.name for a in seek_plugins.manager.apps()] == ["hello-stats", "quickstart-digits"]


def test_plugin_returning_non_app_is_broken_and_other_apps_still_run(
    seek_plugins: PluginHarness, hello_plugin, tmp_path
):
    seek_plugins.register(NonAppPlugin(), "nonapp", distribution="seek-nonapp")
    seek_plugins.register(hello_plugin, "hello", distribution="seek-hello")
    listing = {r.name: r for r in seek_plugins.manager.plugins()}
    assert listing["nonapp"].status == "broken"
    assert "not a seek.App" in listing["nonapp"].error
    result = seek_plugins.invoke("run", "hello-stats", "--out", str(tmp_path / "r"), "--set", "values=[2,4]")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r" / "metrics.json").read_text()) == {"max": 4.0, "mean": 3.0}


@pytest.mark.parametrize(
    "plugin, fragment", [(NotAListPlugin(), "expected a list of App"), (RaisingAppsPlugin(), "database unreachable")]
)
def test_seek_apps_returning_garbage_or_raising_marks_plugin_broken(seek_plugins, plugin, fragment):
    record = seek_plugins.register(plugin, "bad")
    assert record.status == "broken"
    assert fragment in record.error
    assert [a.name for a in seek_plugins.manager.apps()] == ["quickstart-digits"]


def test_plugin_with_unknown_hook_name_is_broken_not_fatal(seek_plugins):
    class Misspelled:
        @seek.hookimpl
        def seek_appz(self):
            return []

    record = seek_plugins.register(Misspelled(), "typo")
    assert record.status == "broken"
    assert "seek_appz" in record.error


def test_two_plugins_claiming_one_app_name_error_names_both_distributions(seek_plugins):
    seek_plugins.register(_app_plugin("twin"), "first", distribution="seek-first")
    seek_plugins.register(_app_plugin("twin"), "second", distribution="seek-second")
    with pytest.raises(seek.PluginError, match="seek-first and seek-second"):
        seek_plugins.manager.app("twin")
    result = seek_plugins.invoke("run", "twin")
    assert result.exit_code == 1
    assert "seek-first and seek-second" in result.output
    listed = seek_plugins.invoke("apps", "list")
    assert "CONFLICT" in listed.output


def _fake_entry_points(*names: str) -> list[metadata.EntryPoint]:
    return [metadata.EntryPoint(name=n, value="seek_hello", group="seek") for n in names]


def test_disable_env_skips_named_plugins_and_lists_them_disabled(hello_plugin):
    manager = PluginManager(env={"SEEK_DISABLE_PLUGINS": "beta, gamma"})
    manager.load_entry_points(_fake_entry_points("alpha", "beta"))
    states = {r.name: (r.status, r.error) for r in manager.plugins()}
    assert states["alpha"] == ("ok", None)
    assert states["beta"] == ("disabled", "disabled by SEEK_DISABLE_PLUGINS")


def test_load_env_loads_only_the_allow_list(hello_plugin):
    manager = PluginManager(env={"SEEK_LOAD_PLUGINS": "beta"})
    manager.load_builtins()
    manager.load_entry_points(_fake_entry_points("alpha", "beta"))
    states = {r.name: r.status for r in manager.plugins()}
    assert states == {"seek": "ok", "alpha": "disabled", "beta": "ok"}
    assert [a.name for a in manager.apps()] == ["hello-stats", "quickstart-digits"]


@pytest.mark.hook("seek_commands")
def test_hook_seek_commands_adds_a_command_to_the_cli(seek_plugins, hello_plugin):
    seek_plugins.register(hello_plugin, "hello", distribution="seek-hello")
    result = seek_plugins.invoke("hello")
    assert result.exit_code == 0
    assert result.output.strip() == "hello from seek-hello"


def test_seek_commands_failure_marks_plugin_broken_and_cli_still_starts(seek_plugins):
    class BadCommands:
        @seek.hookimpl
        def seek_commands(self, cli: click.Group):
            cli.add_command(click.Command("half-added"))
            raise ValueError("boom")

    seek_plugins.register(BadCommands(), "badcmd")
    result = seek_plugins.invoke("--help")
    assert result.exit_code == 0
    assert "half-added" not in result.output
    assert seek_plugins.manager.plugins()[-1].status == "broken"


def test_builtin_plugin_lists_core_version(seek_plugins):
    (core,) = [r for r in seek_plugins.manager.plugins() if r.builtin]
    assert (core.distribution, core.version, core.apps) == ("seek", seek.__version__, ["quickstart-digits"])


def _exiting_module(tmp_path, monkeypatch, name: str, body: str) -> metadata.EntryPoint:
    (tmp_path / f"{name}.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    return metadata.EntryPoint(name=name, value=name, group="seek")


def test_plugin_calling_sys_exit_on_import_is_broken_and_help_and_list_still_work(tmp_path, monkeypatch, hello_plugin):
    exiting = _exiting_module(tmp_path, monkeypatch, "seek_quitter", "import sys\nsys.exit('no licence file')\n")
    manager = PluginManager(env={})
    manager.load_builtins()
    manager.load_entry_points([exiting, *_fake_entry_points("hello")])
    harness = PluginHarness()
    harness.manager = manager
    states = {r.name: (r.status, r.error) for r in manager.plugins()}
    assert states["seek_quitter"] == ("broken", "import failed: SystemExit: sys.exit('no licence file') called")
    assert states["hello"] == ("ok", None)
    assert harness.invoke("--help").exit_code == 0
    listed = harness.invoke("plugins", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert {row["name"]: row["status"] for row in json.loads(listed.output)}["seek_quitter"] == "broken"


@pytest.mark.parametrize("error", [SystemExit(3), GeneratorExit()])
def test_hooks_raising_base_exceptions_mark_the_plugin_broken(seek_plugins, error):
    class ExitingApps:
        @seek.hookimpl
        def seek_apps(self):
            raise error

    class ExitingCommands:
        @seek.hookimpl
        def seek_commands(self, cli: click.Group):
            raise error

    assert seek_plugins.register(ExitingApps(), "apps-exit").status == "broken"
    seek_plugins.register(ExitingCommands(), "cmd-exit")
    assert seek_plugins.invoke("--help").exit_code == 0
    assert {r.name: r.status for r in seek_plugins.manager.plugins()}["cmd-exit"] == "broken"
    assert seek_plugins.register_failing("import-exit", error).status == "broken"


def test_keyboard_interrupt_in_a_plugin_is_not_swallowed(seek_plugins):
    with pytest.raises(KeyboardInterrupt):
        seek_plugins.register_failing("ctrl-c", KeyboardInterrupt())
