"""Shared fixtures for the core tests (seek.testing's fixtures are loaded as a pytest plugin)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def hello_plugin(monkeypatch: pytest.MonkeyPatch):
    """The fixture plugin's module, importable without installing it."""
    monkeypatch.syspath_prepend(str(FIXTURES / "seek-hello"))
    sys.modules.pop("seek_hello", None)
    import seek_hello

    yield seek_hello
    sys.modules.pop("seek_hello", None)
