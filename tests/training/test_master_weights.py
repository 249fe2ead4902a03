"""param_dtype='bf16': the model computes in bf16 inside fit, fp32 masters take the updates, resume stays exact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from training_worker import Net, make_data

from seek.errors import ConfigError
from seek.models import SeekConfig, SeekTransformer
from seek.runs import RunFolder
from seek.training import Callback, Trainer, TrainerConfig


def ce(outputs: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(outputs.float(), batch["y"])


def bf16(**overrides: Any) -> TrainerConfig:
    values = {"epochs": 1, "batch_size": 16, "precision": "bf16", "param_dtype": "bf16", "seed": 3}
    return TrainerConfig(**{**values, "early_stopping_patience": None, **overrides})


class Dtypes(Callback):
    """Records the parameter and output dtypes seen during training."""

    def __init__(self) -> None:
        self.params: set[torch.dtype] = set()

    def on_step_end(self, trainer: Trainer, step: int, logs: Any) -> None:
        self.params |= {p.dtype for p in trainer.model.parameters()}


def test_inside_fit_the_model_is_bf16_and_afterwards_fp32_holding_the_masters() -> None:
    torch.manual_seed(0)
    model = Net()
    seen = Dtypes()
    trainer = Trainer(model, bf16(epochs=2), loss_fn=ce, callbacks=[seen], progress=False)
    result = trainer.fit(make_data(64, 1), make_data(16, 2))
    assert seen.params == {torch.bfloat16}
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    stepped = [p for group in trainer.optimizer.param_groups for p in group["params"]]
    assert all(any(p.data_ptr() == s.data_ptr() for s in stepped) for p in model.parameters())
    assert torch.isfinite(torch.tensor(result.history[-1]["val_loss"]))
    assert trainer.predict(make_data(8, 3)).dtype == torch.float32


def test_updates_below_bf16_resolution_accumulate_in_the_fp32_masters() -> None:
    torch.manual_seed(0)
    model = Net()
    start = {k: v.clone() for k, v in model.state_dict().items()}
    # lr 1e-6 moves each weight by ~1e-6 a step: far below bf16's spacing (~4e-3 at 0.5), so bf16 weights alone
    # would never change; the masters must
    Trainer(model, bf16(lr=1e-6, optimizer="sgd", grad_clip=None, warmup_ratio=0.0), loss_fn=ce, progress=False).fit(
        make_data(64, 1)
    )
    moved = (model.inp.weight - start["inp.weight"]).abs()
    spacing = torch.finfo(torch.bfloat16).eps * start["inp.weight"].abs()  # bf16's step between neighbours
    big = start["inp.weight"].abs() > 0.05
    assert float(moved.max()) > 0
    assert bool((moved[big] < spacing[big] / 2).all())  # each update would have rounded away in bf16


def test_a_dense_input_seek_model_trains_in_bf16_and_its_float_inputs_are_cast() -> None:
    torch.manual_seed(0)
    config = SeekConfig.preset("tiny", input_type="dense", input_dim=6, num_outputs=3, max_len=8)
    model = SeekTransformer(config)
    data = {"x": torch.randn(32, 8, 6), "y": torch.randint(0, 3, (32,))}
    seen = Dtypes()
    Trainer(model, bf16(), callbacks=[seen], progress=False).fit(data, data)
    assert seen.params == {torch.bfloat16}
    assert model.adapter.embed.weight.dtype == torch.float32


class Crash(Callback):
    def __init__(self, at_step: int) -> None:
        self.at_step = at_step

    def on_step_end(self, trainer: Trainer, step: int, logs: Any) -> None:
        if step == self.at_step:
            raise KeyboardInterrupt


def run(folder: Path, resume: bool = False, crash_at: int | None = None) -> tuple[torch.nn.Module, Any]:
    torch.manual_seed(0 if not resume else 99)
    model = Net(dropout=0.3)
    config = bf16(epochs=3, batch_size=8, checkpoint_every_steps=2, lr=1e-2)
    callbacks = [Crash(crash_at)] if crash_at else []
    trainer = Trainer(
        model, config, loss_fn=ce, callbacks=callbacks, run=RunFolder(folder, resume=resume), progress=False
    )
    return model, trainer.fit(make_data(88, 1), make_data(16, 2), resume=resume)


@pytest.mark.parametrize("crash_at", [3, 11])  # mid-epoch, and at an epoch end (with restore_best's best file)
def test_a_crashed_bf16_run_resumes_to_the_same_fp32_weights(tmp_path: Path, crash_at: int) -> None:
    reference, expected = run(tmp_path / "straight")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "crashed", crash_at=crash_at)
    resumed, result = run(tmp_path / "crashed", resume=True)
    assert result.resumed_from is not None
    for key, value in reference.state_dict().items():
        assert value.dtype == torch.float32
        assert torch.equal(resumed.state_dict()[key], value), key
    drop = "epoch_seconds"
    assert [{k: v for k, v in r.items() if k != drop} for r in result.history] == [
        {k: v for k, v in r.items() if k != drop} for r in expected.history
    ]


def test_bf16_parameters_need_bf16_precision() -> None:
    with pytest.raises(ConfigError, match="param_dtype.*precision='bf16'"):
        TrainerConfig(param_dtype="bf16", precision="fp32")
