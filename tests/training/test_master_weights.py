"""param_dtype='bf16': the model computes in bf16 inside fit, fp32 masters take the updates, resume stays exact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from training_worker import Crash, Net, make_data

from seek.errors import ConfigError
from seek.models import SeekConfig, SeekTransformer
from seek.runs import RunFolder
from seek.training import Callback, Trainer, TrainerConfig
from seek.training.master_weights import clip_in_step


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


class FusedTrainer(Trainer):
    """The Trainer with the fused AdamW it builds on a GPU, so clipping is folded into the step on a CPU too."""

    def _build_optimizer(self) -> torch.optim.Optimizer:
        groups = [
            {"params": g["params"], "weight_decay": g["weight_decay"]} for g in super()._build_optimizer().param_groups
        ]
        return torch.optim.AdamW(groups, lr=self.config.lr, fused=True)


def run(
    folder: Path, resume: bool = False, crash_at: int | None = None, fused: bool = False
) -> tuple[torch.nn.Module, Any]:
    torch.manual_seed(0 if not resume else 99)
    model = Net(dropout=0.3)
    config = bf16(epochs=3, batch_size=8, checkpoint_every_steps=2, lr=1e-2, grad_clip=0.05)
    callbacks = [Crash(crash_at)] if crash_at else []
    trainer = (FusedTrainer if fused else Trainer)(
        model, config, loss_fn=ce, callbacks=callbacks, run=RunFolder(folder, resume=resume), progress=False
    )
    return model, trainer.fit(make_data(88, 1), make_data(16, 2), resume=resume)


# mid-epoch, and at an epoch end (with restore_best's best file); fused: clipping inside the AdamW step
@pytest.mark.parametrize(("crash_at", "fused"), [(3, False), (11, False), (3, True), (11, True)])
def test_a_crashed_bf16_run_resumes_to_the_same_fp32_weights(tmp_path: Path, crash_at: int, fused: bool) -> None:
    reference, expected = run(tmp_path / "straight", fused=fused)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "crashed", crash_at=crash_at, fused=fused)
    resumed, result = run(tmp_path / "crashed", resume=True, fused=fused)
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


def test_clipping_inside_the_fused_step_equals_clipping_first() -> None:
    torch.manual_seed(0)
    start = [torch.randn(40, 30), torch.randn(30)]
    grads = [torch.randn_like(p) * 3 for p in start]
    params = {kind: [p.clone().requires_grad_(True) for p in start] for kind in ("first", "inside")}
    optimizers = {kind: torch.optim.AdamW(ps, lr=1e-2, fused=True) for kind, ps in params.items()}
    for max_norm in (1.0, 1e3):  # clipped, and a norm below the limit (factor 1)
        for ps in params.values():
            for p, g in zip(ps, grads, strict=True):
                p.grad = g.clone()
        first = torch.nn.utils.clip_grad_norm_(params["first"], max_norm)
        optimizers["first"].step()
        inside = clip_in_step(optimizers["inside"], params["inside"], max_norm)
        optimizers["inside"].step()
        del optimizers["inside"].grad_scale
        assert torch.equal(first, inside)
        for a, b in zip(params["first"], params["inside"], strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_the_trainer_folds_clipping_into_a_fused_step_and_leaves_no_scale_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    torch.manual_seed(0)
    left: list[bool] = []

    class Seen(Callback):
        def on_step_end(self, trainer: Trainer, step: int, logs: Any) -> None:
            left.append(hasattr(trainer.optimizer, "grad_scale"))

    separate: list[int] = []
    original = torch.nn.utils.clip_grad_norm_
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", lambda *a, **k: separate.append(1) or original(*a, **k))
    trainer = FusedTrainer(Net(), bf16(grad_clip=0.05), loss_fn=ce, callbacks=[Seen()], progress=False)
    trainer.fit(make_data(64, 1))
    assert left and not any(left) and not separate
    Trainer(Net(), bf16(grad_clip=0.05), loss_fn=ce, progress=False).fit(make_data(64, 1))
    assert separate  # the CPU's own (unfused) AdamW clips in a pass of its own
