"""Shared small simulated data for the finance tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def small_frame():
    """About 8k simulated transactions over 40 days, with every modality and frequent frauds."""
    from seek_finance.simulate import SimulatorConfig, simulate

    return simulate(
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
