"""Fixtures: a recorded day of serving events and a sealed run folder with a training reference."""

from __future__ import annotations

from pathlib import Path

import pytest
from monitoring_day import Day, make_reference_run, record_day


@pytest.fixture
def day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Day:
    """A day of traffic whose inputs follow the training distribution."""
    return record_day(tmp_path, monkeypatch)


@pytest.fixture
def shifted_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Day:
    """The same day with amounts about twice as large as in training."""
    return record_day(tmp_path, monkeypatch, shift=0.7)


@pytest.fixture
def reference_run(tmp_path: Path) -> Path:
    """A sealed run folder whose reference is the training distribution of the recorded inputs."""
    return make_reference_run(tmp_path)
