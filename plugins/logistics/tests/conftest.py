"""Shared small simulated quarters for the logistics tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def small_stream():
    """Four simulated quarters of 300 shipments (Q4 has 375)."""
    from seek_logistics.simulate import SimulatorConfig, simulate

    return simulate(SimulatorConfig(quarters=4, shipments_per_quarter=300, seed=3))
