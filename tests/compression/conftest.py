"""Digits run folders to compress: an untrained one (fast) and a trained one (session-wide, ~5 s)."""

from __future__ import annotations

from pathlib import Path

import pytest
from compression.digits_runs import untrained_digits_run


@pytest.fixture
def untrained_run(tmp_path: Path) -> Path:
    """An untrained digits run (for shapes, parity and errors, not quality)."""
    return untrained_digits_run(tmp_path / "untrained")


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A quickstart-digits run trained for 8 epochs (test accuracy about 0.95)."""
    import torch

    from seek.apps.digits import DigitsApp
    from seek.config import resolve_config
    from seek.runner import execute

    app = DigitsApp()
    config = resolve_config(app.Config, overrides=["epochs=8", "patience=8"])
    threads = torch.get_num_threads()
    out = tmp_path_factory.mktemp("digits") / "run"
    execute(app, config, out=out, device="cpu", show_progress=False)
    torch.set_num_threads(threads)
    return out


@pytest.fixture
def digits_data(trained_run: Path):
    """The trained run's CompressionData."""
    from seek.apps.digits import DigitsApp
    from seek.runs import load_run

    return DigitsApp().compression_data(load_run(trained_run), "classifier")
