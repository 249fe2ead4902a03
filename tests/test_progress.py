"""seek.progress: one live display per run (trainer bars draw into it), one line per stage otherwise."""

from __future__ import annotations

import io
import logging

import pytest
from rich.console import Console

from seek.progress import RunProgress, active_progress, track


@pytest.fixture
def default_levels():
    """The CLI's default verbosity: seek at WARNING (no -v, no -q), restored afterwards."""
    seek_logger, run_logger = logging.getLogger("seek"), logging.getLogger("seek.run")
    saved = seek_logger.level, run_logger.level
    seek_logger.setLevel(logging.WARNING)
    run_logger.setLevel(logging.NOTSET)
    yield seek_logger
    seek_logger.setLevel(saved[0])
    run_logger.setLevel(saved[1])


def _terminal() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=120), buffer


def test_without_a_terminal_each_stage_is_one_line_on_stderr(default_levels, capsys):
    with RunProgress(console=Console(file=io.StringIO())) as display:
        assert not display.live and active_progress() is None
        display("start", "features", 0.0)
        display("end", "features", 1.26)
        with display.stage("report"):
            pass
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "stage features: 1.3 s"
    assert err[1].startswith("stage report: 0.0 s")
    assert len(err) == 2


def test_no_progress_gives_lines_even_on_a_terminal(default_levels, capsys):
    console, _ = _terminal()
    with RunProgress(enabled=False, console=console) as display:
        assert not display.live
        task = display.task("trials", total=3)
        for _ in range(3):
            task.advance()
        task.done()
    assert capsys.readouterr().err.startswith("trials: 3/3 in ")


def test_verbose_logs_replace_the_fallback_line_and_quiet_silences_it(default_levels, capsys, caplog):
    with caplog.at_level(logging.INFO, logger="seek.run"), RunProgress(enabled=False) as display, display.stage("load"):
        pass
    assert capsys.readouterr().err == ""
    assert [r.getMessage() for r in caplog.records if r.name == "seek.run"][-1].startswith("stage load: ")
    default_levels.setLevel(logging.ERROR)  # seek -q
    with RunProgress(enabled=False) as display:
        display("end", "load", 2.0)
    assert capsys.readouterr().err == ""


def test_a_failing_stage_prints_no_stage_line(default_levels, capsys):
    with pytest.raises(ValueError), RunProgress(enabled=False) as display, display.stage("validate"):
        raise ValueError("bad row")
    assert capsys.readouterr().err == ""


def test_live_display_shows_stages_counts_and_shares_itself_with_trainer_bars():
    from seek.training.progress import ProgressBar

    console, buffer = _terminal()
    with RunProgress(console=console) as display:
        assert display.live and active_progress() is display._progress
        display("start", "simulate", 0.0)
        assert list(track(range(5), description="payments")) == [0, 1, 2, 3, 4]
        bar = ProgressBar(enabled=True)  # would raise rich's LiveError if it started a second display
        bar.start_epoch(1, 2, total=4, done=0)
        bar.end_epoch({"val_loss": 0.5})
        bar.start_epoch(2, 2, total=4, done=0)
        assert len(display._progress.tasks) == 2  # the stage row + one reused epoch row
        bar.close()
        display("end", "simulate", 1.5)
        display.task("trials", total=2).advance(2)
    assert active_progress() is None
    screen = buffer.getvalue()
    assert "simulate" in screen and "done" in screen and "2/2" in screen


@pytest.mark.slow
def test_one_display_per_run_through_the_runner(tmp_path, seek_tiny_config):
    """A whole run (stages + the trainer's epoch bars) draws into the one display, never a second one."""
    from seek.apps.digits import DigitsApp
    from seek.runner import execute

    console, buffer = _terminal()
    app = DigitsApp()
    rows: list[str] = []
    with RunProgress(console=console) as display:
        add_task = display._progress.add_task
        display._progress.add_task = lambda description, **kw: rows.append(description) or add_task(description, **kw)
        result = execute(
            app,
            seek_tiny_config(app, epochs=1),
            out=tmp_path / "run",
            device="cpu",
            show_progress=display.live,
            stage_listeners=[display],
        )
    assert list(result.timings) == ["load", "train", "evaluate"]
    assert rows == ["load", "train", "epoch 1/1", "evaluate"]
    assert "evaluate" in buffer.getvalue()
