"""The plugin's hooks: the app, the term dictionary, `seek logistics simulate`; light at import."""

from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest

from seek.testing import PluginHarness
from seek_logistics import plugin


@pytest.fixture
def harness() -> PluginHarness:
    harness = PluginHarness()
    harness.register(plugin, name="logistics-test", distribution="seek-logistics")
    return harness


@pytest.mark.hook("seek_apps")
def test_hook_seek_apps_offers_logistics_eta_with_continual_support(harness) -> None:
    app = harness.manager.app("logistics-eta")
    assert app.continual is not None and app.continual.default == "online-ewc"
    assert app.data is not None and "delivered_at" in app.data.fields


@pytest.mark.hook("seek_term_dictionaries")
def test_hook_seek_term_dictionaries_gives_the_logistics_terms() -> None:
    (terms,) = plugin.seek_term_dictionaries()
    assert terms.domain == "logistics"


@pytest.mark.hook("seek_commands")
def test_hook_seek_commands_adds_logistics_simulate(harness, tmp_path) -> None:
    out = tmp_path / "q5.parquet"
    result = harness.invoke("logistics", "simulate", "--quarter", "5", "--shipments", "120", "--out", str(out))
    assert result.exit_code == 0, result.output
    frame = pl.read_parquet(out)
    assert frame.height == 120 and frame["created_at"].min().year == 2025
    bad = harness.invoke("logistics", "simulate", "--quarter", "0", "--out", str(out))
    assert bad.exit_code == 2 and "count from 1" in bad.stderr


def test_importing_the_plugin_and_app_loads_no_torch_or_polars() -> None:
    code = (
        "import sys, seek_logistics.plugin, seek_logistics.app; "
        "print([m for m in ('torch', 'polars') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
