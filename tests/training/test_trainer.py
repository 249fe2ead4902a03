"""Trainer behaviour: accumulation, callbacks, early stopping, precision, clipping, schedule, history files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from training_worker import Net, make_data

from seek.errors import ConfigError
from seek.runs import RunFolder
from seek.training import Callback, StopTraining, Trainer, TrainerConfig


def ce(outputs: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(outputs, batch["y"])


def quiet(**overrides: Any) -> TrainerConfig:
    """A config without the knobs that would hide a wrongly scaled gradient (clipping, warmup)."""
    values = {
        "epochs": 1,
        "lr": 0.1,
        "optimizer": "sgd",
        "grad_clip": None,
        "warmup_ratio": 0.0,
        "schedule": "constant",
        "early_stopping_patience": None,
        "seed": 7,
    }
    return TrainerConfig(**{**values, **overrides})


def trained(config: TrainerConfig, data: dict[str, torch.Tensor], **kwargs: Any) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    model = Net()
    Trainer(model, config, loss_fn=ce, progress=False, **kwargs).fit(data)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def max_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return max(float((a[k] - b[k]).abs().max()) for k in a)


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_four_accumulated_batches_of_16_equal_one_batch_of_64(optimizer: str) -> None:
    data = make_data(64, 1)
    torch.manual_seed(0)
    start = Net().state_dict()
    accumulated = trained(quiet(batch_size=16, accumulation_steps=4, optimizer=optimizer), data)
    whole = trained(quiet(batch_size=64, optimizer=optimizer), data)
    assert max_diff(accumulated, start) > 1e-3
    assert max_diff(accumulated, whole) < 1e-6


def test_a_short_last_micro_batch_is_weighted_by_its_size() -> None:
    data = make_data(56, 1)  # micro-batches of 16, 16, 16, 8: a plain 1/4 scaling would over-weight the last
    accumulated = trained(quiet(batch_size=16, accumulation_steps=4), data)
    whole = trained(quiet(batch_size=64), data)
    assert max_diff(accumulated, whole) < 1e-6


class L2(Callback):
    def __init__(self, strength: float) -> None:
        self.strength = strength

    def on_batch_loss(self, trainer: Trainer, batch: dict[str, Any], loss: torch.Tensor) -> torch.Tensor:
        return loss + self.strength * sum((p**2).sum() for p in trainer.model.parameters())


def test_a_callback_loss_term_adds_its_gradient() -> None:
    data = make_data(32, 1)
    config = quiet(batch_size=32)
    torch.manual_seed(0)
    start = Net().state_dict()
    plain = trained(config, data)
    penalised = trained(config, data, callbacks=[L2(0.5)])
    # one SGD step: the L2 term adds 2 * strength * w to every gradient
    for key in start:
        expected = -config.lr * 2 * 0.5 * start[key]
        assert torch.allclose(penalised[key] - plain[key], expected, atol=1e-6)


class Scripted(Callback):
    """Adds a scripted metric per epoch and remembers what it saw."""

    def __init__(self, scores: list[float], stop_at: int | None = None, error: Exception | None = None) -> None:
        self.scores, self.stop_at, self.error, self.seen = scores, stop_at, error, []

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None:
        metrics["val_score"] = self.scores[epoch - 1]
        self.seen.append(epoch)
        if epoch == self.stop_at:
            raise self.error or StopTraining()


def fit_with(callback: Callback, **overrides: Any) -> Any:
    torch.manual_seed(0)
    config = TrainerConfig(**{"epochs": 10, "batch_size": 16, "seed": 1, **overrides})
    trainer = Trainer(Net(), config, loss_fn=ce, callbacks=[callback], progress=False)
    return trainer.fit(make_data(32, 1), make_data(16, 2))


def test_early_stopping_waits_patience_epochs_on_the_monitored_metric() -> None:
    callback = Scripted([0.5, 0.7, 0.9, 0.9, 0.8, 0.95, 1.0, 1.0, 1.0, 1.0])
    result = fit_with(callback, monitor="val_score", mode="max", early_stopping_patience=2)
    assert callback.seen == [1, 2, 3, 4, 5]
    assert result.stopped_early
    assert (result.best_epoch, result.best_metric) == (3, 0.9)
    assert [row["val_score"] for row in result.history] == [0.5, 0.7, 0.9, 0.9, 0.8]


def test_stop_training_from_on_epoch_end_ends_the_fit_cleanly() -> None:
    result = fit_with(Scripted([1.0] * 10, stop_at=2))
    assert len(result.history) == 2
    assert not result.stopped_early


def test_other_exceptions_from_on_epoch_end_propagate() -> None:
    with pytest.raises(RuntimeError, match="pruned"):
        fit_with(Scripted([1.0] * 10, stop_at=1, error=RuntimeError("pruned")))


def test_an_unknown_monitor_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="trainer.monitor: 'val_auc'"):
        fit_with(Callback(), monitor="val_auc")


def test_restore_best_puts_back_the_best_epoch_weights() -> None:
    class Snapshot(Scripted):
        def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None:
            super().on_epoch_end(trainer, epoch, metrics)
            if epoch == 2:
                self.best = {k: v.clone() for k, v in trainer.model.state_dict().items()}

    callback = Snapshot([0.1, 0.9, 0.2, 0.3])
    torch.manual_seed(0)
    model = Net()
    config = TrainerConfig(epochs=4, batch_size=16, monitor="val_score", mode="max", early_stopping_patience=None)
    Trainer(model, config, loss_fn=ce, callbacks=[callback], progress=False).fit(make_data(32, 1), make_data(8, 2))
    assert max_diff(model.state_dict(), callback.best) == 0.0


class Precision(torch.nn.Module):
    """Records the autocast dtype seen inside forward."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(6, 3)
        self.seen: set[Any] = set()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        out = self.linear(x)
        self.seen.add(out.dtype)
        return out


def test_bf16_autocasts_the_forward_on_cpu() -> None:
    model = Precision()
    trainer = Trainer(model, TrainerConfig(epochs=1, batch_size=16, precision="bf16"), loss_fn=ce, progress=False)
    result = trainer.fit(make_data(32, 1), make_data(8, 2))
    assert model.seen == {torch.bfloat16}
    assert torch.isfinite(torch.tensor(result.history[0]["val_loss"]))
    assert model.linear.weight.dtype == torch.float32


def test_fp16_on_cpu_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ConfigError, match="fp16.*CUDA"):
        Trainer(Net(), TrainerConfig(precision="fp16"), loss_fn=ce)


def test_gradient_clipping_bounds_the_update() -> None:
    seen: list[float] = []

    class Norms(Callback):
        def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
            seen.append(logs["grad_norm"])

    torch.manual_seed(0)
    start = Net().state_dict()
    after = trained(
        quiet(batch_size=32, lr=1.0, weight_decay=0.0, grad_clip=1e-3), make_data(32, 1), callbacks=[Norms()]
    )
    step = torch.cat([(after[k] - start[k]).flatten() for k in start])
    assert seen[0] > 1e-3
    assert float(step.norm()) == pytest.approx(1e-3, rel=1e-4)


def test_learning_rate_warms_up_then_decays() -> None:
    lrs: list[float] = []

    class Lrs(Callback):
        def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
            lrs.append(logs["lr"])

    config = TrainerConfig(epochs=2, batch_size=8, lr=1e-2, warmup_ratio=0.25, early_stopping_patience=None)
    Trainer(Net(), config, loss_fn=ce, callbacks=[Lrs()], progress=False).fit(make_data(64, 1))
    assert len(lrs) == 16
    peak = lrs.index(max(lrs))
    assert max(lrs) == pytest.approx(1e-2)
    assert lrs[:peak] == sorted(lrs[:peak]) and lrs[peak:] == sorted(lrs[peak:], reverse=True)
    assert lrs[-1] < 1e-3


def test_history_and_loss_curve_are_written_to_the_run_folder(tmp_path: Path) -> None:
    run = RunFolder(tmp_path / "run")
    config = TrainerConfig(epochs=2, batch_size=16)
    result = Trainer(Net(), config, loss_fn=ce, run=run, progress=False).fit(make_data(32, 1), make_data(8, 2))
    import json

    history = json.loads((run.path / "history.json").read_text())
    assert history == json.loads(json.dumps(result.history))
    assert [row["epoch"] for row in history] == [1, 2]
    assert {"train_loss", "val_loss", "lr", "step"} <= set(history[0])
    assert all(isinstance(v, (int, float)) for row in history for v in row.values())
    assert (run.path / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_progress_false_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    Trainer(Net(), TrainerConfig(epochs=1, batch_size=16), loss_fn=ce, progress=False).fit(make_data(32, 1))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_predict_returns_outputs_in_dataset_order_and_evaluate_reports_metrics() -> None:
    torch.manual_seed(0)
    model = Net()
    data = make_data(21, 3)
    trainer = Trainer(
        model, TrainerConfig(batch_size=4), loss_fn=ce, progress=False, metrics_fn=lambda out, y: {"n": len(y)}
    )
    with torch.no_grad():
        expected = model(data["x"])
    assert torch.allclose(trainer.predict({"x": data["x"]}), expected, atol=1e-6)
    metrics = trainer.evaluate(data)
    assert metrics["loss"] == pytest.approx(float(ce(expected, data)), rel=1e-5)
    assert metrics["n"] == 21.0


def test_default_losses_follow_the_seek_model_head() -> None:
    from seek.models import SeekConfig, SeekTransformer

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(24, 10, 3, generator=generator)
    mask = torch.ones(24, 10, dtype=torch.bool)
    mask[::3, 7:] = False
    for head, y in (("classification", (x[:, :, 0].mean(1) > 0).long()), ("regression", x[:, :, 1].mean(1))):
        torch.manual_seed(0)
        cfg = SeekConfig.preset(
            "tiny",
            input_type="dense",
            input_dim=3,
            head=head,
            num_outputs=2 if head == "classification" else 1,
            max_len=16,
            segment_size=4,
        )
        trainer = Trainer(SeekTransformer(cfg), TrainerConfig(epochs=2, batch_size=8, lr=3e-3), progress=False)
        result = trainer.fit({"x": x, "mask": mask, "y": y}, {"x": x, "mask": mask, "y": y})
        assert result.history[-1]["val_loss"] < result.history[0]["train_loss"]
        assert ("val_accuracy" in result.history[0]) == (head == "classification")


def test_a_module_without_a_head_needs_a_loss_fn() -> None:
    with pytest.raises(ConfigError, match="loss_fn"):
        Trainer(Net())


def test_training_steps_never_wait_for_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """No .item()/float() of a tensor per step: the count of host reads does not grow with the steps.

    SGD, because torch's CPU AdamW reads its (CPU) step counter each step; the fused CUDA one does not.
    """
    reads = {"n": 0}
    item, to_float = torch.Tensor.item, torch.Tensor.__float__

    def counted(original: Any) -> Any:
        def read(self: torch.Tensor) -> Any:
            reads["n"] += 1
            return original(self)

        return read

    monkeypatch.setattr(torch.Tensor, "item", counted(item))
    monkeypatch.setattr(torch.Tensor, "__float__", counted(to_float))
    per_run = []
    for samples in (32, 256):  # 2 and 16 optimiser steps of 16
        reads["n"] = 0
        trained(quiet(epochs=2, batch_size=16, grad_clip=1.0), make_data(samples, 0))
        per_run.append(reads["n"])
    assert per_run[0] == per_run[1], per_run


def test_step_logs_still_give_floats_to_callbacks() -> None:
    seen: list[tuple[float, float]] = []

    class Read(Callback):
        def on_step_end(self, trainer: Trainer, step: int, logs: Any) -> None:
            seen.append((logs["loss"], logs["grad_norm"]))

    trained(quiet(batch_size=16, grad_clip=1.0), make_data(64, 0), callbacks=[Read()])
    assert len(seen) == 4 and all(isinstance(v, float) and v > 0 for pair in seen for v in pair)
