"""Tensor parallelism + FSDP2 on a 2-D mesh: gloo runs on the CPU match one process; sharded runs resume elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from seek.errors import ConfigError
from seek.models import SeekConfig, SeekTransformer
from seek.training import TrainerConfig
from seek.training.tensor_parallel import merge_qkv

WORKER = Path(__file__).parent / "tensor_parallel_worker.py"
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2] / "core"), str(WORKER.parent)]),
    "OMP_NUM_THREADS": "1",
}


def launch(
    out: Path, processes: int, tp: int, crash_at: int = 0, resume: bool = False, how: str = "fsdp+tp", switch: int = 0
) -> Path:
    """Run the worker alone (1 process) or under torchrun; return its output folder."""
    out.mkdir(parents=True, exist_ok=True)
    args = [str(WORKER), str(out), how, str(tp), str(crash_at), "resume" if resume else "fresh", str(switch)]
    runner = (
        ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes)] if processes > 1 else []
    )
    done = subprocess.run([sys.executable, *runner, *args], env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == (3 if crash_at else 0) or (crash_at and done.returncode != 0), done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return launch(tmp_path_factory.mktemp("tp") / "single", 1, 1)


def curves(out: Path) -> tuple[list[float], dict[str, torch.Tensor]]:
    return json.loads((out / "losses.json").read_text()), load_file(str(out / "weights.safetensors"))


@pytest.mark.slow
@pytest.mark.parametrize(("processes", "tp"), [(2, 2), (4, 2)])  # tp only; dp 2 x tp 2
def test_tensor_parallel_runs_follow_the_single_process_loss_curve(
    single: Path, tmp_path: Path, processes: int, tp: int
) -> None:
    base_losses, base_weights = curves(single)
    losses, weights = curves(launch(tmp_path, processes, tp))
    assert len(losses) == len(base_losses) == 16
    assert losses == pytest.approx(base_losses, rel=1e-4, abs=1e-5)
    assert weights.keys() == base_weights.keys()  # merged back to the fused qkv layout
    assert max(float((weights[k] - base_weights[k]).abs().max()) for k in weights) < 1e-4


@pytest.mark.slow
def test_a_run_sharded_on_4_ranks_resumes_on_2(single: Path, tmp_path: Path) -> None:
    launch(tmp_path, 4, 2, crash_at=5)
    losses, weights = curves(launch(tmp_path, 2, 2, resume=True))
    base_losses, base_weights = curves(single)
    assert losses == pytest.approx(base_losses[4:], rel=1e-4, abs=1e-5)  # the crash came before step 5's checkpoint
    assert max(float((weights[k] - base_weights[k]).abs().max()) for k in weights) < 1e-4


def test_merged_state_loads_into_the_plain_model() -> None:
    from seek.training.tensor_parallel import _split_qkv_class

    cfg = SeekConfig.preset("tiny", vocab_size=30, head="classification", num_outputs=2)
    model = SeekTransformer(cfg).eval()
    reference = {k: v.clone() for k, v in model.state_dict().items()}
    for block in model.blocks:
        block.attn.local.qkv = _split_qkv_class()(block.attn.local.qkv)
    x = torch.randint(0, 30, (2, 40))
    split_out = model(x)
    merged = merge_qkv(model.state_dict())
    assert merged.keys() == reference.keys()
    plain = SeekTransformer(cfg).eval()
    plain.load_state_dict(merged)
    torch.testing.assert_close(plain(x), split_out)


def test_tp_size_needs_the_fsdp_tp_layout() -> None:
    with pytest.raises(ConfigError, match="fsdp\\+tp"):
        TrainerConfig(tp_size=2)
    assert TrainerConfig(distributed="fsdp+tp", tp_size=2).tp_size == 2


@pytest.mark.slow
def test_a_sharded_checkpoint_is_dcp_safetensors_and_exports_one_serving_file(single: Path, tmp_path: Path) -> None:
    from seek.training.sharded_checkpoint import export_model

    launch(tmp_path, 4, 2, crash_at=5)
    checkpoints = tmp_path / "run" / "checkpoints"
    folders = sorted(checkpoints.glob("step-*.dcp"))
    assert [f.name for f in folders] == ["step-00000003.dcp", "step-00000004.dcp"]  # keep_checkpoints=2
    assert not list(folders[-1].rglob("*.metadata")) and list(folders[-1].glob("*.safetensors"))  # no pickle file
    cfg = SeekConfig.preset("tiny", vocab_size=30, head="classification", num_outputs=2, segment_size=8, dropout=0.0)
    served = SeekTransformer.load(export_model(folders[-1], cfg, tmp_path / "served"))
    assert (tmp_path / "served" / "model.safetensors").is_file()
    assert served.config == cfg and served(torch.randint(0, 30, (2, 24))).shape == (2, 2)


@pytest.mark.slow
def test_ddp_trains_a_model_whose_coarse_branches_sit_out_below_the_switch(tmp_path: Path) -> None:
    """24-token inputs under a 32-token switch leave the fusion weights without gradients: DDP must not stall."""
    alone = curves(launch(tmp_path / "one", 1, 1, how="ddp", switch=32))
    ranks = curves(launch(tmp_path / "two", 2, 1, how="ddp", switch=32))
    assert ranks[0] == pytest.approx(alone[0], rel=1e-4, abs=1e-5)
