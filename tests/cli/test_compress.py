"""`seek compress` on the command line: a sealed run folder and one-line errors."""

from __future__ import annotations

import pytest
from compression.digits_runs import untrained_digits_run


@pytest.fixture
def run_dir(tmp_path):
    return untrained_digits_run(tmp_path / "run")


def test_compress_writes_a_new_sealed_run_and_prints_the_comparison(seek_plugins, run_dir, tmp_path):
    from seek.runs import load_run

    out = tmp_path / "int8"
    result = seek_plugins.invoke(
        "compress", str(run_dir), "--method", "quantize", "--out", str(out), "--set", "repeats=5"
    )
    assert result.exit_code == 0, result.output
    assert "quantize: dynamic INT8 of every Linear, backend torch.ao" in result.output
    assert f"run folder: {out}" in result.output
    assert load_run(out).manifest["artifacts"]["classifier"]["kind"] == "torch-module"


def test_unknown_method_exits_2_with_one_line(seek_plugins, run_dir):
    result = seek_plugins.invoke("compress", str(run_dir), "--method", "shrink")
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "unknown; choose from prune" in result.output


def test_tampered_run_is_one_line_and_nonzero(seek_plugins, run_dir):
    (run_dir / "config.json").write_text("{}")
    result = seek_plugins.invoke("compress", str(run_dir), "--method", "quantize")
    assert result.exit_code != 0
    assert result.output.strip().startswith("error:") and "sha256 does not match" in result.output
    assert "Traceback" not in result.output
