"""seek runs list/show/compare/gc: sealed run folders only, read from their small JSON files, no model loaded."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.fixture
def runs(seek_plugins, hello_plugin, tmp_path, monkeypatch):
    """Three sealed hello-stats runs (values [1, 5], [10, 20], [2, 4], oldest first) and one unsealed folder."""
    seek_plugins.register(hello_plugin, "hello", distribution="seek-hello")
    root = tmp_path / "runs"
    monkeypatch.setenv("SEEK_RUNS_DIR", str(root))
    for values in ("[1, 5]", "[10, 20]", "[2, 4]"):
        result = seek_plugins.invoke("run", "hello-stats", "--set", f"values={values}", "--no-progress")
        assert result.exit_code == 0, result.output
    unsealed = root / "hello-stats" / "20990101T000000Z-dead00"
    unsealed.mkdir()
    (unsealed / "run.json").write_text(json.dumps({"app": "hello-stats", "status": "failed"}))
    return seek_plugins, root, unsealed


def _listed(cli, *args):
    result = cli.invoke("runs", "list", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_list_shows_sealed_runs_newest_first_with_headline_metrics(runs):
    cli, _, unsealed = runs
    rows = _listed(cli)
    assert [r["headline"]["mean"] for r in rows] == [3.0, 15.0, 3.0]
    assert [r["headline"]["max"] for r in rows] == [4.0, 20.0, 5.0]
    assert {r["status"] for r in rows} == {"finished"}
    assert unsealed.name not in {r["run"] for r in rows}
    assert _listed(cli, "hello-stats") == rows and _listed(cli, "quickstart-digits") == []
    table = cli.invoke("runs", "list")
    assert "hello-stats" in table.output and "1 unsealed folder(s)" in table.output


def test_show_verifies_the_manifest_and_names_a_changed_file(runs):
    cli, root, _ = runs
    newest = _listed(cli)[0]
    short_id = newest["run"].rsplit("-", 1)[1]
    shown = cli.invoke("runs", "show", short_id)
    assert shown.exit_code == 0, shown.output
    assert "manifest: verified" in shown.output and "status: finished" in shown.output
    assert "values  [2.0, 4.0]" in shown.output and "mean  3" in shown.output
    metrics = root / "hello-stats" / newest["run"] / "metrics.json"
    metrics.write_text(metrics.read_text().replace("4.0", "9.0"))
    record = json.loads(cli.invoke("runs", "show", newest["path"], "--json").output)
    assert record["verified"] is False and "metrics.json" in record["problem"]


def test_an_unknown_or_ambiguous_run_is_one_line(runs):
    cli, _, _ = runs
    result = cli.invoke("runs", "show", "nope")
    assert result.exit_code == 1 and result.output.startswith("error: run 'nope': no such folder")
    result = cli.invoke("runs", "show", "2")  # every folder name starts with the year
    assert result.exit_code == 1 and "is ambiguous" in result.output and result.output.count("\n") == 1


def test_compare_gives_config_differences_and_metric_deltas(runs):
    cli, _, _ = runs
    newest, middle, _ = _listed(cli)
    record = json.loads(cli.invoke("runs", "compare", middle["run"], newest["run"], "--json").output)
    assert record["config"] == {"values": ["[10.0, 20.0]", "[2.0, 4.0]"]}
    assert record["metrics"]["mean"] == {"values": [15.0, 3.0], "delta": [None, -12.0]}
    assert record["metrics"]["max"]["delta"] == [None, -16.0]
    table = cli.invoke("runs", "compare", middle["run"], newest["run"])
    assert table.exit_code == 0
    assert "3 (-12)" in table.output and "config differences" in table.output
    one = cli.invoke("runs", "compare", newest["run"])
    assert one.exit_code == 2 and "at least two runs" in one.output


def test_gc_dry_run_deletes_nothing_then_gc_keeps_the_newest(runs):
    cli, _, unsealed = runs
    before = _listed(cli)
    dry = cli.invoke("runs", "gc", "--keep", "1", "--dry-run")
    assert dry.exit_code == 0
    assert dry.output.count("would remove ") == 3  # two folders + the total line
    assert _listed(cli) == before
    done = cli.invoke("runs", "gc", "--keep", "1")
    assert done.exit_code == 0 and "removed 2 run folder(s)" in done.output
    assert "1 unsealed folder(s) left alone" in done.output
    assert [r["run"] for r in _listed(cli)] == [before[0]["run"]]
    assert unsealed.is_dir()


PROBE = """
import json, sys
from seek.cli import main
for args in {commands!r}:
    try:
        main(args)
    except SystemExit as exc:
        assert not exc.code, (args, exc.code)
heavy = ("torch", "safetensors", "lightgbm", "onnxruntime")
print(json.dumps(sorted(m for m in heavy if m in sys.modules)), file=sys.stderr)
"""


@pytest.mark.slow
def test_runs_commands_never_load_a_model(runs, tmp_path):
    from seek.apps.digits import DigitsApp
    from seek.runner import execute

    _, root, _ = runs
    app = DigitsApp()
    first = execute(app, app.Config(epochs=1), root=root, device="cpu", show_progress=False).path
    assert list(first.rglob("*.safetensors")), "the run holds a model the commands must not load"
    second = first
    commands = [
        ["runs", "list", "--root", str(root)],
        ["runs", "show", str(first)],
        ["runs", "compare", str(first), str(second)],
        ["runs", "gc", "--keep", "5", "--root", str(root)],
    ]
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(commands=commands)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []
