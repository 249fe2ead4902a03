"""The end of `seek run`: headline metrics (integers as integers), rejected rows, stage times, folder and report."""

from __future__ import annotations

import json
from typing import ClassVar

import pytest

import seek


class CountsApp(seek.App):
    """Reads 57,950 rows, rejects 2 of them, reports a mix of integer and fractional metrics."""

    name = "counts"
    summary = "A test app with stages, rejects and integer metrics."
    Config = seek.AppConfig
    headline: ClassVar[tuple[str, ...]] = ("auc_roc", "frauds_caught", "missing_metric")

    def run(self, config: seek.AppConfig, ctx: seek.RunContext) -> seek.Report:
        import polars as pl

        with ctx.stage("simulate"):
            ctx.rows_in += 57_950
        with ctx.stage("validate"):
            ctx.reject(pl.DataFrame({"amount": [-1.0, None]}), "amount must be positive")
        return seek.Report(metrics={"auc_roc": 0.987654, "frauds_caught": 57_948, "other": 1.5})


class CountsPlugin:
    @seek.hookimpl
    def seek_apps(self) -> list[seek.App]:
        return [CountsApp()]


@pytest.fixture
def cli(seek_plugins):
    seek_plugins.register(CountsPlugin(), "counts")
    return seek_plugins


def test_summary_shows_headline_integers_rejects_stage_times_folder_and_report(cli, tmp_path):
    out = tmp_path / "run"
    result = cli.invoke("run", "counts", "--out", str(out), "--no-progress")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("counts finished in ")
    assert lines[1].split() == ["auc_roc", "0.9877"]
    assert lines[2].split() == ["frauds_caught", "57,948"]  # an integer, not 5.795e+04
    assert "other" not in result.stdout  # only the headline
    assert f"input rows: 57,950 read, 2 rejected ({out / 'rejected.parquet'})" in lines
    assert any(line.startswith("time by stage: simulate ") and ", validate " in line for line in lines)
    assert lines[-2:] == [f"run folder: {out}", f"report: {out / 'report.md'}"]
    assert (out / "rejected.parquet").is_file()


def test_json_prints_metrics_json_and_nothing_else_on_stdout(cli, tmp_path):
    out = tmp_path / "run"
    result = cli.invoke("run", "counts", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads((out / "metrics.json").read_text())
    assert result.stdout == (out / "metrics.json").read_text()
    assert "stage simulate" in result.stderr  # the stage lines go to stderr


def test_verbose_logs_every_stage_and_quiet_prints_no_stage_lines(cli, tmp_path):
    loud = cli.invoke("-v", "run", "counts", "--out", str(tmp_path / "a"), "--no-progress")
    assert loud.exit_code == 0
    assert "INFO seek.run: stage simulate: started" in loud.stderr
    assert loud.stderr.count("stage validate: ") == 2  # started + seconds, and no duplicate fallback line
    quiet = cli.invoke("-q", "run", "counts", "--out", str(tmp_path / "b"), "--no-progress")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert "run folder:" in quiet.stdout


def test_an_app_without_headline_shows_its_first_metrics(seek_plugins, hello_plugin, tmp_path):
    seek_plugins.register(hello_plugin, "hello")
    result = seek_plugins.invoke("run", "hello-stats", "--out", str(tmp_path / "r"), "--set", "values=[1, 5]")
    assert result.exit_code == 0
    assert [line.split() for line in result.stdout.splitlines()[1:3]] == [["mean", "3"], ["max", "5"]]
    assert "input rows: 0 rejected" in result.stdout.splitlines()
