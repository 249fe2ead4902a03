"""TrainerConfig validation and the learning-rate schedule."""

from __future__ import annotations

import itertools

import pytest

from seek.errors import ConfigError
from seek.training import TrainerConfig
from seek.training.schedule import WarmupSchedule


def test_defaults_match_the_agreed_api() -> None:
    config = TrainerConfig()
    assert (config.precision, config.schedule, config.monitor, config.mode) == ("fp32", "cosine", "val_loss", "min")
    assert config.early_stopping_patience == 3
    assert config.checkpoint_every_steps == 0


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("batch_size", 0, "trainer.batch_size"),
        ("accumulation_steps", 1.5, "trainer.accumulation_steps"),
        ("precision", "fp8", "trainer.precision"),
        ("lr", 0.0, "trainer.lr"),
        ("warmup_ratio", 1.0, "trainer.warmup_ratio"),
        ("mode", "maximise", "trainer.mode"),
        ("distributed", "horovod", "trainer.distributed"),
        ("grad_compression", "int8", "trainer.grad_compression"),
        ("checkpoint_every_steps", -1, "trainer.checkpoint_every_steps"),
    ],
)
def test_bad_values_name_the_field(field: str, value: object, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        TrainerConfig(**{field: value})


def test_compression_hooks_are_refused_with_fsdp() -> None:
    with pytest.raises(ConfigError, match="fsdp"):
        TrainerConfig(distributed="fsdp", grad_compression="powersgd")


def test_from_dict_names_an_unknown_key() -> None:
    with pytest.raises(ConfigError, match="trainer.epoch:"):
        TrainerConfig.from_dict({"epoch": 3})
    assert TrainerConfig.from_dict(TrainerConfig(lr=1e-3).to_dict()) == TrainerConfig(lr=1e-3)


def test_warmup_rises_linearly_then_cosine_decays_to_the_floor() -> None:
    schedule = WarmupSchedule(total_steps=100, warmup_steps=10, kind="cosine", min_ratio=0.1)
    assert [schedule(s) for s in range(3)] == pytest.approx([0.1, 0.2, 0.3])
    assert schedule(9) == pytest.approx(1.0)
    assert schedule(10) == pytest.approx(1.0)
    assert schedule(55) == pytest.approx(0.1 + 0.9 * 0.5)
    assert schedule(100) == pytest.approx(0.1)
    factors = [schedule(s) for s in range(10, 101)]
    assert all(a >= b for a, b in itertools.pairwise(factors))


def test_linear_and_constant_schedules() -> None:
    assert WarmupSchedule(10, 0, "linear")(5) == pytest.approx(0.5)
    assert WarmupSchedule(10, 2, "constant")(9) == 1.0
