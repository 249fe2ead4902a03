"""trainer.cuda_graphs: each micro-batch shape's forward and backward recorded once as CUDA graphs, then replayed."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import torch
from training_worker import Crash, Net, make_data

from seek.errors import ConfigError
from seek.models import SeekConfig, SeekTransformer
from seek.runs import RunFolder
from seek.training import Trainer, TrainerConfig
from seek.training.master_weights import MasterWeights

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device")


def ce(outputs: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(outputs.float(), batch["y"])


def config(**overrides: Any) -> TrainerConfig:
    values = {"epochs": 2, "batch_size": 8, "seed": 5, "early_stopping_patience": None, "warmup_ratio": 0.0}
    return TrainerConfig(**{**values, **overrides})


def test_cuda_graphs_with_compile_is_refused_pointing_at_reduce_overhead() -> None:
    with pytest.raises(ConfigError, match="cuda_graphs: with compile=True use compile_mode=.reduce-overhead."):
        TrainerConfig(cuda_graphs=True, compile=True)


def test_cuda_graphs_on_a_cpu_device_is_one_config_error() -> None:
    with pytest.raises(ConfigError, match="trainer.cuda_graphs: CUDA graphs need a CUDA device, got 'cpu'"):
        Trainer(Net(), config(cuda_graphs=True), loss_fn=ce, device="cpu", progress=False)


def test_a_batch_whose_x_is_not_a_tensor_is_one_config_error() -> None:
    from seek.training.graphs import StepGraphs

    with pytest.raises(ConfigError, match="takes tensor inputs, got x of type dict"):
        StepGraphs(Net())({"ids": torch.zeros(2, 6)}, None)  # type: ignore[arg-type]


def test_kept_bf16_gradients_are_zeroed_in_place_after_the_copy_to_the_masters() -> None:
    torch.manual_seed(0)
    model = Net()
    masters = MasterWeights(model)
    masters.enter()
    data = make_data(16, 1)
    ce(model(data["x"]), data).backward()
    grads = [p.grad for p in masters.params]
    expected = [g.float().clone() for g in grads if g is not None]
    masters.grads_to_masters(keep=True)
    assert all(p.grad is g for p, g in zip(masters.params, grads, strict=True))  # the same buffers, zeroed
    assert all(g is not None and not g.any() for g in grads)
    assert all(torch.equal(m.grad, e) for m, e in zip(masters.masters, expected, strict=True))  # type: ignore[arg-type]
    masters.exit()


def assert_same_weights(expected: torch.nn.Module, actual: torch.nn.Module) -> None:
    for (name, a), b in zip(expected.state_dict().items(), actual.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def train(model: torch.nn.Module, graphs: bool, **overrides: Any) -> Trainer:
    trainer = Trainer(model, config(cuda_graphs=graphs, **overrides), loss_fn=ce, device="cuda", progress=False)
    # 44 samples in micro-batches of 8: the epoch's last one holds 4, a second recorded shape
    trainer.fit(make_data(44, 1) if isinstance(model, Net) else tokens(44, 1))
    return trainer


def tokens(n: int, seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 50, (n, 32), generator=generator)
    return {"x": x, "y": (x[:, 0] > 25).long()}


def seek_model() -> SeekTransformer:
    torch.manual_seed(0)
    return SeekTransformer(
        SeekConfig(vocab_size=50, hidden_size=32, num_heads=4, num_layers=2, segment_size=8, num_outputs=2, dropout=0.0)
    )


@cuda
@pytest.mark.parametrize("accumulation", [1, 2])
def test_a_replayed_step_trains_an_mlp_bit_for_bit_like_eager(accumulation: int, caplog: Any) -> None:
    torch.manual_seed(0)
    eager = Net()
    graphed = Net()
    graphed.load_state_dict(eager.state_dict())
    train(eager, False, accumulation_steps=accumulation)
    with caplog.at_level(logging.INFO, logger="seek.training"):
        train(graphed, True, accumulation_steps=accumulation)
    assert "replayed over 2 input shapes, 0 run eagerly" in caplog.text
    assert_same_weights(eager, graphed)
    assert all(p.grad is None for p in graphed.parameters())  # the buffers are released with the recordings


@cuda
@pytest.mark.parametrize("precision", ["fp32", "bf16", "bf16p"])
def test_a_replayed_step_trains_the_seek_model_like_eager(precision: str) -> None:
    values: dict[str, Any] = {"precision": precision.removesuffix("p"), "accumulation_steps": 2}
    if precision == "bf16p":
        values["param_dtype"] = "bf16"
    eager, graphed = seek_model(), seek_model()
    train(eager, False, **values)
    train(graphed, True, **values)
    tolerance = 1e-5 if precision == "fp32" else 2e-3  # attention kernels may sum in another order
    for (name, a), b in zip(eager.state_dict().items(), graphed.state_dict().values(), strict=True):
        torch.testing.assert_close(b, a, atol=tolerance, rtol=tolerance, msg=name)


@cuda
def test_a_replayed_step_draws_the_dropout_masks_an_eager_step_draws() -> None:
    torch.manual_seed(0)
    eager = Net(dropout=0.3)
    graphed = Net(dropout=0.3)
    graphed.load_state_dict(eager.state_dict())
    train(eager, False)
    train(graphed, True)
    assert_same_weights(eager, graphed)


def graphed_run(folder: Any, resume: bool = False, crash_at: int | None = None) -> torch.nn.Module:
    torch.manual_seed(0 if not resume else 99)
    model = Net(dropout=0.3)
    trainer = Trainer(
        model,
        config(epochs=3, cuda_graphs=True, checkpoint_every_steps=2, lr=1e-2, precision="bf16", param_dtype="bf16"),
        loss_fn=ce,
        callbacks=[Crash(crash_at)] if crash_at else [],
        run=RunFolder(folder, resume=resume),
        device="cuda",
        progress=False,
    )
    trainer.fit(make_data(44, 1), make_data(16, 2), resume=resume)
    return model


@cuda
@pytest.mark.parametrize("crash_at", [3, 6])  # mid-epoch, and at the epoch's last step (6 steps an epoch)
def test_a_crashed_replayed_run_resumes_to_the_same_weights(tmp_path: Any, crash_at: int) -> None:
    reference = graphed_run(tmp_path / "straight")
    with pytest.raises(KeyboardInterrupt):
        graphed_run(tmp_path / "crashed", crash_at=crash_at)
    resumed = graphed_run(tmp_path / "crashed", resume=True)
    assert_same_weights(reference, resumed)


class DictOut(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = Net()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        return {"logits": self.net(x)}


@cuda
def test_a_model_returning_a_dict_is_one_config_error() -> None:
    trainer = Trainer(DictOut(), config(cuda_graphs=True), loss_fn=lambda o, b: ce(o["logits"], b), device="cuda")
    with pytest.raises(ConfigError, match="forward returns dict; a recorded step needs one tensor"):
        trainer.fit(make_data(16, 1))


class Syncs(Net):
    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        out = super().forward(x)
        return out * float(out.abs().max())  # a host sync: cannot be recorded


@cuda
def test_a_forward_that_waits_on_the_host_is_one_config_error() -> None:
    trainer = Trainer(Syncs(), config(cuda_graphs=True), loss_fn=ce, device="cuda", progress=False)
    with pytest.raises(ConfigError, match="could not be recorded as a CUDA graph"):
        trainer.fit(make_data(16, 1))
