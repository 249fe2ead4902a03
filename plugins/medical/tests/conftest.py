"""Fixtures of the medical tests (helpers live in medical_study.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from medical_study import small_study

from seek_medical.simulate import SimulatedStudy, write_study


@pytest.fixture
def study(tmp_path: Path) -> tuple[SimulatedStudy, Path, list[Path]]:
    """A small study written with random file names and InstanceNumber running against z."""
    simulated = small_study()
    folder = tmp_path / "study"
    files = write_study(simulated, folder)
    return simulated, folder, files
