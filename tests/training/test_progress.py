"""Step logs and the progress bar read device values without waiting for them."""

from __future__ import annotations

import torch

from seek.training.progress import AsyncScalar, ProgressBar, StepLogs


def test_step_logs_turn_tensors_into_floats_only_when_read() -> None:
    loss = torch.tensor(0.25, dtype=torch.float64)
    logs = StepLogs({"loss": loss, "lr": 1e-3, "grad_norm": float("nan")})
    assert isinstance(logs._values["loss"], torch.Tensor)
    assert logs["loss"] == 0.25 and isinstance(logs["loss"], float)
    assert dict(logs).keys() == {"loss", "lr", "grad_norm"}


def test_async_scalar_reports_the_latest_value_that_arrived() -> None:
    reader = AsyncScalar()
    assert reader.latest() is None
    for value in (1.0, 2.0, 3.5):
        reader.push(torch.tensor(value))
    assert reader.latest() == 3.5


def test_a_disabled_bar_accepts_device_losses() -> None:
    bar = ProgressBar(enabled=False)
    bar.start_epoch(1, 1, 2, 0)
    bar.step(torch.tensor(1.0), 1e-3)
    bar.close()
