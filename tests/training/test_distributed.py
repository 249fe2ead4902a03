"""Distributed training: batch plans per rank, compression byte counts, and a real 2-process gloo run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from training_worker import Net, ddp_job

from seek.errors import ConfigError, RunError
from seek.training import gradient_bytes_per_step, open_run_folder
from seek.training.data import epoch_plan
from seek.training.distributed import DistInfo, detect, wrap_model

WORKER = Path(__file__).parent / "training_worker.py"


def test_ranks_split_each_global_batch_of_the_single_process_plan() -> None:
    single = epoch_plan(50, 16, seed=3, epoch=2, rank=0, world=1)
    ranks = [epoch_plan(50, 16, seed=3, epoch=2, rank=r, world=2) for r in range(2)]
    assert [m.global_size for m in single] == [16, 16, 16, 2]
    for i, micro in enumerate(single):
        assert sorted(ranks[0][i].indices + ranks[1][i].indices) == sorted(micro.indices)
        assert ranks[0][i].global_size == micro.global_size


def test_the_sample_order_is_reproducible_from_seed_and_epoch() -> None:
    def order(seed: int, epoch: int) -> list[int]:
        return [i for m in epoch_plan(40, 8, seed, epoch, 0, 1) for i in m.indices]

    assert order(1, 0) == order(1, 0)
    assert order(1, 0) != order(1, 1) and order(1, 0) != order(2, 0)
    assert sorted(order(1, 3)) == list(range(40))


def test_a_trailing_batch_smaller_than_the_world_is_dropped() -> None:
    plan = epoch_plan(33, 16, seed=0, epoch=0, rank=1, world=4)
    assert [m.global_size for m in plan] == [16, 16]


def test_torchrun_environment_is_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert detect() == DistInfo(rank=3, world_size=4, local_rank=1)
    monkeypatch.setenv("WORLD_SIZE", "four")
    with pytest.raises(ConfigError, match="WORLD_SIZE"):
        detect()


def test_only_rank_0_needs_an_empty_run_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "history.json").write_text("[]")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert open_run_folder(tmp_path / "run").path == tmp_path / "run"
    assert open_run_folder(tmp_path / "not-yet-created").path.is_dir()
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(RunError, match="not empty"):
        open_run_folder(tmp_path / "run")


def test_compression_bytes_follow_parameter_shapes() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Linear(32, 2))
    # weights 32x64 and 2x32, biases 32 and 2
    assert gradient_bytes_per_step(model, None) == 4 * (2048 + 32 + 64 + 2)
    assert gradient_bytes_per_step(model, "bf16") == 2 * (2048 + 32 + 64 + 2)
    # rank 4: the 32x64 matrix becomes (32+64)*4 = 384 numbers; the 2x32 one would not shrink 2x, so it is sent whole
    assert gradient_bytes_per_step(model, "powersgd", powersgd_rank=4) == 4 * (384 + 32 + 64 + 2)


def test_the_bf16_hook_is_refused_on_cpu() -> None:
    with pytest.raises(ConfigError, match="'fp16' on CPU"):
        wrap_model(Net(), DistInfo(0, 2, 0), torch.device("cpu"), "ddp", "bf16", 4)


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Train every variant once under torchrun with 2 gloo processes (one launch for all tests)."""
    out = tmp_path_factory.mktemp("gloo")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2] / "core"), str(WORKER.parent)])}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(WORKER),
        "ddp",
        str(out),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def single_process_weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    out = tmp_path_factory.mktemp("single")
    ddp_job(out, ["ddp"])
    return load_file(out / "ddp.safetensors")


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["ddp", "fsdp"])
def test_two_gloo_ranks_train_the_same_weights_as_one_process(
    two_process_run: Path, single_process_weights: dict[str, torch.Tensor], variant: str
) -> None:
    weights = load_file(two_process_run / f"{variant}.safetensors")
    assert weights.keys() == single_process_weights.keys()
    for key, value in single_process_weights.items():
        assert torch.allclose(weights[key], value, atol=1e-6), key


@pytest.mark.slow
@pytest.mark.parametrize(("resumed", "uninterrupted"), [("dropout_resumed", "dropout"), ("fsdp_resumed", "fsdp")])
def test_a_crashed_two_rank_run_resumes_to_the_same_weights(
    two_process_run: Path, resumed: str, uninterrupted: str
) -> None:
    expected = load_file(two_process_run / f"{uninterrupted}.safetensors")
    got = load_file(two_process_run / f"{resumed}.safetensors")
    assert all(torch.equal(got[k], v) for k, v in expected.items())
    stats = json.loads((two_process_run / "stats.json").read_text())
    assert stats[resumed]["resumed_from"].startswith("step-")


@pytest.mark.slow
def test_compressed_gradients_train_close_to_exact_ones(
    two_process_run: Path, single_process_weights: dict[str, torch.Tensor]
) -> None:
    fp16 = load_file(two_process_run / "fp16.safetensors")
    assert all(torch.allclose(fp16[k], v, atol=1e-3) for k, v in single_process_weights.items())
    powersgd = load_file(two_process_run / "powersgd.safetensors")
    assert all(torch.isfinite(v).all() for v in powersgd.values())


@pytest.mark.slow
def test_powersgd_sends_the_share_of_elements_computed_from_shapes(two_process_run: Path) -> None:
    counted = json.loads((two_process_run / "stats.json").read_text())["powersgd"]
    model = Net()
    expected = gradient_bytes_per_step(model, "powersgd", powersgd_rank=2) / gradient_bytes_per_step(model, None)
    assert counted["after"] / counted["before"] == pytest.approx(expected)
