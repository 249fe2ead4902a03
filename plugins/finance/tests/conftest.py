"""Shared small simulated data for the finance tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def small_frame():
    """About 8k simulated transactions over 40 days, with every modality and frequent frauds."""
    from datetime import timedelta

    from seek_finance.data import with_label_times
    from seek_finance.simulate import SimulatorConfig, simulate

    frame = simulate(
        SimulatorConfig(
            n_customers=100,
            n_terminals=1000,
            n_days=40,
            seed=7,
            compromised_terminals_per_day=10,
            compromised_customers_per_day=150,
            takeovers_per_day=100,
        )
    )
    return with_label_times(frame, timedelta(days=7))


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory: pytest.TempPathFactory):
    """A tiny run with stacking fusion (both models have a say in every fused score), verified."""
    from seek.config import resolve_config
    from seek.runner import execute
    from seek.runs import load_run
    from seek_finance.app import FraudApp

    app = FraudApp()
    config = resolve_config(app.Config, base=app.tiny, overrides=["fusion.mode=stacking"])
    out = tmp_path_factory.mktemp("fraud") / "run"
    return load_run(execute(app, config, out=out, device="cpu", seed=0, show_progress=False).path)
