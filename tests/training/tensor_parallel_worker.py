"""Run by the tensor-parallel tests (alone or under torchrun): train a tiny Seek model, record every step's loss."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from seek.models import SeekConfig, SeekTransformer
from seek.runs import RunFolder
from seek.training import Callback, Trainer, TrainerConfig
from seek.training.distributed import detect, open_run_folder
from seek.training.state_dicts import model_state
from seek.training.tensor_parallel import merge_qkv


class Losses(Callback):
    """Every optimiser step's loss."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def on_step_end(self, trainer: Trainer, step: int, logs: Any) -> None:
        self.values.append(logs["loss"])


class CrashAt(Callback):
    """Stop the process after optimiser step ``at`` (a checkpoint is written every step)."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_step_end(self, trainer: Trainer, step: int, logs: Any) -> None:
        if step == self.at:
            raise SystemExit(3)


def data() -> dict[str, torch.Tensor]:
    """A learnable token task: the label is whether token 7 occurs."""
    generator = torch.Generator().manual_seed(5)
    x = torch.randint(0, 30, (64, 24), generator=generator)
    return {"x": x, "y": (x == 7).any(dim=1).long()}


def main(out: Path, distributed: str, tp_size: int, crash_at: int, resume: bool, switch: int = 0) -> None:
    """Train 2 epochs of 8 steps; rank 0 writes losses.json and the fused-layout weights."""
    torch.manual_seed(0)
    cfg = SeekConfig.preset(
        "tiny", vocab_size=30, head="classification", num_outputs=2, segment_size=8, dropout=0.0,
        full_attention_below=switch,
    )  # fmt: skip
    model = SeekTransformer(cfg)
    config = TrainerConfig(
        epochs=2, batch_size=8, lr=3e-3, warmup_ratio=0.0, early_stopping_patience=None, restore_best=False,
        distributed=distributed, tp_size=tp_size, checkpoint_every_steps=1 if crash_at or resume else 0,
    )  # fmt: skip
    run: RunFolder | None = open_run_folder(out / "run", resume=resume) if crash_at or resume else None
    losses = Losses()
    callbacks: list[Callback] = [losses] + ([CrashAt(crash_at)] if crash_at else [])
    trainer = Trainer(model, config, callbacks=callbacks, run=run, progress=False)
    trainer.fit(data(), resume=resume)
    weights = merge_qkv(model_state(trainer.model, trainer.dist.enabled))
    if detect().is_main:
        (out / "losses.json").write_text(json.dumps(losses.values))
        save_file({k: v.contiguous() for k, v in weights.items()}, str(out / "weights.safetensors"))
    if torch.distributed.is_initialized():
        # Leave together: a rank tearing gloo down while another still gathers aborts ("terminate called ...").
        torch.distributed.barrier()


if __name__ == "__main__":
    switch = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "resume", switch)
