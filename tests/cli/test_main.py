"""The seek command line: every core command and its error paths, in-process with click's runner."""

from __future__ import annotations

import json

import pytest

import seek


@pytest.fixture
def cli(seek_plugins, hello_plugin):
    seek_plugins.register(hello_plugin, "hello", distribution="seek-hello", version="0.3.1")
    return seek_plugins


def test_version_prints_the_core_version(cli):
    result = cli.invoke("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"seek, version {seek.__version__}"


def test_plugins_list_shows_distribution_version_and_apps(cli):
    result = cli.invoke("plugins", "list")
    assert result.exit_code == 0
    assert "seek-hello" in result.output and "0.3.1" in result.output and "hello-stats" in result.output


def test_plugins_list_json_is_machine_readable(cli):
    rows = json.loads(cli.invoke("plugins", "list", "--json").output)
    assert {r["name"]: r["status"] for r in rows} == {"seek": "ok", "hello": "ok"}


def test_apps_list_and_show_describe_apps_and_schema(cli):
    listed = cli.invoke("apps", "list")
    assert "hello-stats" in listed.output and "quickstart-digits" in listed.output
    shown = cli.invoke("apps", "show", "quickstart-digits")
    assert shown.exit_code == 0
    default_epochs = str(cli.manager.app("quickstart-digits").Config().epochs)
    for fragment in ("epochs", "int", default_epochs, "Training epochs", ">= 1"):
        assert fragment in shown.output


def test_run_writes_sealed_folder_and_prints_metrics(cli, tmp_path):
    out = tmp_path / "run"
    result = cli.invoke("run", "hello-stats", "--out", str(out), "--set", "values=[1, 5]", "--no-progress")
    assert result.exit_code == 0, result.output
    assert f"run folder: {out}" in result.output
    assert "mean" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json",
        "manifest.json",
        "metrics.json",
        "report.md",
        "run.json",
    ]
    assert json.loads((out / "config.json").read_text()) == {"values": [1.0, 5.0]}
    assert json.loads((out / "run.json").read_text())["status"] == "finished"


def test_run_default_folder_goes_under_runs_app(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("SEEK_RUNS_DIR", str(tmp_path / "runs"))
    result = cli.invoke("run", "hello-stats")
    assert result.exit_code == 0
    (folder,) = (tmp_path / "runs" / "hello-stats").iterdir()
    assert (folder / "manifest.json").is_file()


def test_run_with_config_file(cli, tmp_path):
    conf = tmp_path / "c.yaml"
    conf.write_text("values: [10, 20]\n")
    result = cli.invoke("run", "hello-stats", "--config", str(conf), "--out", str(tmp_path / "r"))
    assert result.exit_code == 0
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["mean"] == 15.0


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["run", "nope"], 1, "error: unknown app 'nope' (available: hello-stats, quickstart-digits"),
        (["run", "hello-stats", "--set", "colour=red"], 2, "error: config key 'colour': unknown key (given 'red')"),
        (
            ["run", "hello-stats", "--set", "values=abc"],
            2,
            "error: config key 'values': got 'abc'; expected input should be a valid list",
        ),
        (
            ["run", "quickstart-digits", "--set", "epochs=0"],
            2,
            "error: config key 'epochs': got 0; expected input should be greater than or equal to 1",
        ),
        (["apps", "show", "nope"], 1, "error: unknown app 'nope'"),
        (["run", "hello-stats", "--resume"], 2, "error: --resume needs --out DIR"),
    ],
)
def test_user_errors_are_one_line_with_exit_code(cli, args, code, message):
    result = cli.invoke(*args)
    assert result.exit_code == code
    assert result.output.startswith(message), result.output
    assert result.output.count("\n") == 1
    assert "Traceback" not in result.output


def test_bad_config_syntax_and_unreadable_file(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("values: [1, 2\n")
    result = cli.invoke("run", "hello-stats", "--config", str(bad))
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {bad}: invalid YAML syntax")
    unreadable = tmp_path / "binary.toml"
    unreadable.write_bytes(b"\xff\xfe\x00bad")
    result = cli.invoke("run", "hello-stats", "--config", str(unreadable))
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {unreadable}: cannot read config file")
    missing = cli.invoke("run", "hello-stats", "--config", str(tmp_path / "none.toml"))
    assert missing.exit_code == 2 and "config file not found" in missing.output


def test_out_pointing_at_a_file_is_an_error(cli, tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("keep me")
    result = cli.invoke("run", "hello-stats", "--out", str(target))
    assert result.exit_code == 1
    assert result.output == f"error: --out {target}: is a file, not a folder\n"
    assert target.read_text() == "keep me"


def test_debug_shows_the_traceback(cli):
    result = cli.invoke("--debug", "run", "nope")
    assert result.exit_code == 1
    assert isinstance(result.exception, seek.PluginError)


def test_data_and_map_flags_need_an_app_that_reads_data(cli, tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("a\n1\n")
    result = cli.invoke("run", "hello-stats", "--data", str(data))
    assert result.exit_code == 2
    assert result.output == "error: --data: app 'hello-stats' does not read user data (it declares no DataSpec)\n"
    result = cli.invoke("run", "hello-stats", "--map", "timestamp=TX")
    assert result.exit_code == 2 and "--map applies to --data" in result.output


def test_help_lines_of_the_lazy_core_commands_are_their_docstrings():
    # `seek --help` shows these lines without importing the command modules; they must not drift.
    import importlib

    from seek.cli import CORE_COMMANDS

    for name, line in CORE_COMMANDS.items():
        command = importlib.import_module(f"seek.cli.{name}").command
        assert (command.help or "").strip().split("\n\n")[0].replace("\n", " ") == line, name


def test_core_commands_load_only_when_run(seek_plugins):
    import sys

    for name in [m for m in sys.modules if m.startswith("seek.cli.serve")]:
        del sys.modules[name]
    assert seek_plugins.invoke("--help").exit_code == 0
    assert "seek.cli.serve" not in sys.modules
    assert seek_plugins.invoke("serve", "--help").exit_code == 0
    assert "seek.cli.serve" in sys.modules
