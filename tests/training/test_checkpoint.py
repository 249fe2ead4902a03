"""Checkpoints: lossless safetensors+JSON state, RNG capture, and bit-exact resume after a crash or a SIGKILL."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from training_worker import Net, make_data

from seek.errors import ConfigError
from seek.runs import RunFolder
from seek.training import Callback, Trainer, TrainerConfig
from seek.training.checkpoint import (
    capture_rng,
    latest_checkpoint,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)

WORKER = Path(__file__).parent / "training_worker.py"


def test_state_round_trips_with_int_keys_tuples_and_tensors(tmp_path: Path) -> None:
    state = {
        "optimizer": {
            "state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.randn(2, 3)}},
            "param_groups": [{"betas": (0.9, 0.999), "params": [0], "foreach": None, "lr": 1e-3}],
        },
        "loop": {"history": [{"epoch": 1, "val_loss": float("nan")}], "best": None},
    }
    path = save_checkpoint(tmp_path / "step-00000001.safetensors", state)
    loaded = load_checkpoint(path)
    assert loaded["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert torch.equal(loaded["optimizer"]["state"][0]["exp_avg"], state["optimizer"]["state"][0]["exp_avg"])
    assert list(loaded["optimizer"]["state"]) == [0]
    assert loaded["loop"]["best"] is None and np.isnan(loaded["loop"]["history"][0]["val_loss"])
    assert path.read_bytes()[8:9] == b"{"  # a safetensors header, not a pickle


def test_rng_states_restore_every_generator() -> None:
    states = capture_rng()
    first = (random.random(), float(np.random.rand()), float(torch.rand(())))
    restore_rng(states)
    assert (random.random(), float(np.random.rand()), float(torch.rand(()))) == first


def test_the_newest_finished_checkpoint_wins_and_temp_files_are_ignored(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "step-00000002.safetensors", {"a": 1})
    save_checkpoint(tmp_path / "step-00000010.safetensors", {"a": 2})
    (tmp_path / ".step-00000012.safetensors.abc.tmp").write_bytes(b"half a file")
    assert latest_checkpoint(tmp_path).name == "step-00000010.safetensors"


class Crash(Callback):
    """Raises after a given optimiser step, like a process dying mid-epoch."""

    def __init__(self, at_step: int) -> None:
        self.at_step = at_step

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        if step == self.at_step:
            raise KeyboardInterrupt


def run_training(folder: Path, resume: bool = False, crash_at: int | None = None, **overrides: Any) -> Any:
    torch.manual_seed(0 if not resume else 123)  # a resumed run must not depend on how its model was initialised
    model = Net(dropout=0.3)
    values = {
        "epochs": 3,
        "batch_size": 8,
        "accumulation_steps": 2,
        "checkpoint_every_steps": 2,
        "seed": 4,
        "early_stopping_patience": None,
        "lr": 1e-2,
    }
    config = TrainerConfig(**{**values, **overrides})
    callbacks = [Crash(crash_at)] if crash_at else []
    trainer = Trainer(
        model,
        config,
        loss_fn=lambda o, b: torch.nn.functional.cross_entropy(o, b["y"]),
        callbacks=callbacks,
        run=RunFolder(folder, resume=resume),
        progress=False,
    )
    result = trainer.fit(make_data(88, 1), make_data(16, 2), resume=resume)
    return model, result


def strip_time(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "epoch_seconds"} for row in history]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, Any]:
    """The reference run every interrupted run must end up equal to."""
    return run_training(tmp_path_factory.mktemp("straight") / "run")


@pytest.mark.parametrize("crash_at", [3, 6, 12])  # mid-epoch (between checkpoints), at an epoch end, in the last epoch
def test_a_crashed_run_resumes_to_the_same_weights_and_metrics(
    tmp_path: Path, crash_at: int, uninterrupted: tuple[torch.nn.Module, Any]
) -> None:
    reference, expected = uninterrupted
    with pytest.raises(KeyboardInterrupt):
        run_training(tmp_path / "crashed", crash_at=crash_at)
    resumed, result = run_training(tmp_path / "crashed", resume=True)
    assert result.resumed_from is not None
    for key, value in reference.state_dict().items():
        assert torch.equal(resumed.state_dict()[key], value), key
    assert strip_time(result.history) == strip_time(expected.history)


def test_resume_refuses_a_changed_batch_size(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        run_training(tmp_path / "run", crash_at=3)
    with pytest.raises(ConfigError, match="trainer.batch_size=8"):
        run_training(tmp_path / "run", resume=True, batch_size=16)


def test_resume_without_a_checkpoint_starts_from_scratch(tmp_path: Path) -> None:
    reference, _ = run_training(tmp_path / "straight", epochs=1)
    (tmp_path / "empty").mkdir()
    torch.manual_seed(0)
    model = Net(dropout=0.3)
    config = TrainerConfig(epochs=1, batch_size=8, accumulation_steps=2, seed=4, lr=1e-2, early_stopping_patience=None)
    trainer = Trainer(
        model,
        config,
        loss_fn=lambda o, b: torch.nn.functional.cross_entropy(o, b["y"]),
        run=RunFolder(tmp_path / "empty", resume=True),
        progress=False,
    )
    assert trainer.fit(make_data(88, 1), make_data(16, 2), resume=True).resumed_from is None
    assert all(torch.equal(model.state_dict()[k], v) for k, v in reference.state_dict().items())


def test_resume_needs_a_run_folder() -> None:
    trainer = Trainer(Net(), TrainerConfig(), loss_fn=lambda o, b: o.sum(), progress=False)
    with pytest.raises(ConfigError, match="run=RunFolder"):
        trainer.fit(make_data(8, 1), resume=True)


def worker(out: Path, *flags: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2] / "core"), str(WORKER.parent)])}
    return subprocess.Popen(
        [sys.executable, str(WORKER), "resume", str(out), *flags],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.mark.slow
def test_a_sigkilled_training_process_resumes_to_the_same_weights(tmp_path: Path) -> None:
    straight = worker(tmp_path / "straight")
    victim = worker(tmp_path / "killed")
    checkpoints = tmp_path / "killed" / "checkpoints"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(checkpoints.glob("step-*.safetensors"))) < 2:
        assert victim.poll() is None, "the run finished before it could be killed"
        time.sleep(0.01)
    time.sleep(random.uniform(0.0, 0.1))  # land anywhere in a step, a checkpoint write included
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    assert not (tmp_path / "killed" / "final.safetensors").exists()
    resumed = worker(tmp_path / "killed", "--resume")
    assert straight.wait(timeout=120) == 0, straight.stdout.read().decode()
    assert resumed.wait(timeout=120) == 0, resumed.stdout.read().decode()
    expected = load_file(tmp_path / "straight" / "final.safetensors")
    got = load_file(tmp_path / "killed" / "final.safetensors")
    assert all(torch.equal(got[k], v) for k, v in expected.items())
    straight_result = json.loads((tmp_path / "straight" / "result.json").read_text())
    resumed_result = json.loads((tmp_path / "killed" / "result.json").read_text())
    assert resumed_result["resumed_from"] is not None
    assert strip_time(resumed_result["history"]) == strip_time(straight_result["history"])


def test_a_truncated_latest_checkpoint_falls_back_to_the_previous_one_with_a_warning(tmp_path: Path, caplog) -> None:
    from seek.training.checkpoint import load_latest_good

    save_checkpoint(tmp_path / "step-00000001.safetensors", {"step": 1})
    newest = save_checkpoint(tmp_path / "step-00000002.safetensors", {"step": 2})
    newest.write_bytes(newest.read_bytes()[:20])  # killed mid-copy by something other than our atomic writer
    with caplog.at_level("WARNING", logger="seek.training"):
        path, state = load_latest_good(tmp_path)
    assert (path.name, state) == ("step-00000001.safetensors", {"step": 1})
    assert "step-00000002.safetensors: unreadable checkpoint" in caplog.text
    newest.unlink()
    (tmp_path / "step-00000001.safetensors").write_bytes(b"garbage")
    assert load_latest_good(tmp_path) is None
