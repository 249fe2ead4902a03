"""Small training scripts the training tests run in subprocesses (a SIGKILL target, and torchrun workers).

python tests/training/training_worker.py resume OUT [--resume]      # trains into run folder OUT, slowly enough to kill
python -m torch.distributed.run --nproc_per_node 2 tests/training/training_worker.py ddp OUT   # gloo variants
python tests/training/training_worker.py ddp OUT                     # the same runs in one process
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from seek.runs import RunFolder
from seek.training import Callback, Trainer, TrainerConfig
from seek.training.state_dicts import model_state


class Net(torch.nn.Module):
    """A two-layer MLP classifier; forward(x, mask=None) like every Seek model."""

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        self.inp = torch.nn.Linear(6, 32)
        self.drop = torch.nn.Dropout(dropout)
        self.out = torch.nn.Linear(32, 3)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.out(self.drop(torch.nn.functional.silu(self.inp(x))))


def make_data(n: int, seed: int) -> dict[str, torch.Tensor]:
    """A seeded three-class problem on 6 features."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=generator)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    return {"x": x, "y": y}


class Slow(Callback):
    """Sleeps after each optimiser step so that a test can kill the process mid-run."""

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        time.sleep(0.03)


def save_weights(model: torch.nn.Module, path: Path) -> None:
    """Write the model's weights as safetensors."""
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(path))


def resume_job(out: Path, resume: bool) -> None:
    """Train a dropout MLP with a checkpoint after every step; write final weights and history."""
    torch.manual_seed(0)
    model = Net(dropout=0.2)

    def loss_fn(outputs: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(outputs, batch["y"])

    config = TrainerConfig(
        epochs=3,
        batch_size=8,
        accumulation_steps=2,
        lr=1e-2,
        checkpoint_every_steps=1,
        keep_checkpoints=2,
        early_stopping_patience=None,
        seed=3,
    )
    run = RunFolder(out, resume=resume)
    trainer = Trainer(model, config, loss_fn=loss_fn, callbacks=[Slow()], run=run, progress=False)
    result = trainer.fit(make_data(96, 1), make_data(32, 2), resume=resume)
    save_weights(model, out / "final.safetensors")
    run.write_json("result.json", {"history": result.history, "resumed_from": result.resumed_from})


DDP_VARIANTS: dict[str, dict[str, Any]] = {
    "ddp": {},
    "fsdp": {"distributed": "fsdp"},
    "fp16": {"grad_compression": "fp16"},
    "powersgd": {"grad_compression": "powersgd", "powersgd_rank": 2},
    # with dropout, uninterrupted and then crashed + resumed: per-rank RNG streams must come back exactly
    "dropout": {"dropout": 0.2},
    "dropout_resumed": {"dropout": 0.2, "crash_at": 3},
    "fsdp_resumed": {"distributed": "fsdp", "crash_at": 4},
}


class Crash(Callback):
    """Raises after optimiser step ``at`` on every rank, like a job that dies mid-epoch."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        if step == self.at:
            raise KeyboardInterrupt


def train_variant(out: Path, name: str, resume: bool = False) -> tuple[Trainer, str | None]:
    """One seeded training of the MLP as ``name`` describes; returns the trainer and the checkpoint resumed from."""
    options = dict(DDP_VARIANTS[name])
    dropout, crash_at = options.pop("dropout", 0.0), options.pop("crash_at", None)
    torch.manual_seed(0 if not resume else 99)
    model = Net(dropout)
    config = TrainerConfig(
        epochs=2,
        batch_size=16,
        accumulation_steps=2,
        lr=1e-2,
        warmup_ratio=0.2,
        seed=5,
        early_stopping_patience=None,
        checkpoint_every_steps=2 if crash_at else 0,
        **options,
    )
    run = None
    if crash_at:
        (out / name).mkdir(parents=True, exist_ok=True)
        run = RunFolder(out / name, resume=True)
    callbacks = [Crash(crash_at)] if crash_at and not resume else []
    trainer = Trainer(
        model,
        config,
        loss_fn=lambda o, b: torch.nn.functional.cross_entropy(o, b["y"]),
        callbacks=callbacks,
        run=run,
        progress=False,
    )
    try:
        result = trainer.fit(make_data(80, 1), make_data(16, 2), resume=resume)
    except KeyboardInterrupt:
        return train_variant(out, name, resume=True)
    return trainer, result.resumed_from


def ddp_job(out: Path, variants: list[str]) -> None:
    """Train the same seeded MLP once per variant; rank 0 writes weights and compression counters."""
    stats = {}
    for name in variants:
        trainer, resumed_from = train_variant(out, name)
        if resumed_from:
            stats[name] = {"resumed_from": Path(resumed_from).name}
        weights = model_state(trainer.model, trainer.dist.enabled and trainer.config.distributed == "fsdp")
        hook_state = getattr(trainer.wrapped, "seek_comm_hook_state", None)
        if hasattr(hook_state, "total_numel_before_compression"):
            stats[name] = {
                "before": hook_state.total_numel_before_compression,
                "after": hook_state.total_numel_after_compression,
            }
        if trainer.dist.is_main:
            save_file({k: v.detach().cpu().contiguous() for k, v in weights.items()}, str(out / f"{name}.safetensors"))
    if int(os.environ.get("RANK", "0")) == 0:
        (out / "stats.json").write_text(json.dumps(stats))


def main(argv: list[str]) -> None:
    """Dispatch to a job."""
    parser = argparse.ArgumentParser()
    parser.add_argument("job", choices=["resume", "ddp"])
    parser.add_argument("out", type=Path)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--variants", default=",".join(DDP_VARIANTS))
    args = parser.parse_args(argv)
    if args.job == "resume":
        resume_job(args.out, args.resume)
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        ddp_job(args.out, args.variants.split(","))


if __name__ == "__main__":
    main(sys.argv[1:])
