"""seek run --resume: a run killed with SIGKILL continues from its checkpoint to the same result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from seek.testing import comparable

ARGS = [
    "quickstart-digits",
    "--set",
    "epochs=3",
    "--set",
    "checkpoint_every_steps=7",
    "--set",
    "patience=10",
    "--device",
    "cpu",
    "--seed",
    "3",
    "--no-progress",
]


def _seek(*args: str) -> list[str]:
    return [sys.executable, "-m", "seek", *args]


@pytest.mark.slow
def test_run_killed_midway_and_resumed_ends_with_identical_metrics(tmp_path):
    straight = tmp_path / "straight"
    subprocess.run(_seek("run", *ARGS, "--out", str(straight)), check=True, capture_output=True, timeout=600)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        _seek("run", *ARGS, "--out", str(killed)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    checkpoints = killed / "checkpoints"
    while time.monotonic() < deadline and proc.poll() is None:
        if checkpoints.is_dir() and any(p.name.startswith("step-") for p in checkpoints.iterdir()):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before a checkpoint could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "metrics.json").exists()

    resumed = subprocess.run(
        _seek(
            "run",
            "quickstart-digits",
            "--out",
            str(killed),
            "--resume",
            "--device",
            "cpu",
            "--seed",
            "3",
            "--no-progress",
        ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((killed / "run.json").read_text())["resumed"]
    resumed_metrics = json.loads((killed / "metrics.json").read_text())
    assert comparable(resumed_metrics) == comparable(json.loads((straight / "metrics.json").read_text()))


def test_resume_refuses_new_overrides_and_missing_folder(seek_plugins, tmp_path):
    result = seek_plugins.invoke("run", "quickstart-digits", "--out", str(tmp_path), "--resume", "--set", "lr=1")
    assert result.exit_code == 2 and "drop --config/--set/--tiny" in result.output
    result = seek_plugins.invoke("run", "quickstart-digits", "--out", str(tmp_path / "none"), "--resume")
    assert result.exit_code == 1 and "holds no config.json/run.json; it is not a run folder" in result.output
