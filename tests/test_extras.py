"""seek.extras: a missing optional dependency is one line naming the extra and the pip command, exit 2."""

from __future__ import annotations

import json
import sys
import types

import pytest

from seek.errors import SeekError
from seek.extras import MissingExtra, pip_command, require

# Every command that needs an optional dependency: (argv, module made unimportable, extra, distribution).
# A new command (serve, compress, update, medical detect, new, ...) adds its row here.
COMMANDS = [
    (["tune", "quickstart-digits", "--trials", "1", "--tiny"], "optuna", "hpo", "seek"),
    (["run", "hello-stats", "--track", "mlflow"], "mlflow", "mlflow", "seek"),
    (["compress", "no-such-run", "--method", "quantize"], "onnx", "compress", "seek"),
    (["new", "domain", "insurance", "--defaults"], "copier", "new", "seek"),
    (["serve"], "fastapi", "serve", "seek"),
    (["worker", "--broker", "redis://127.0.0.1:1/0"], "celery", "jobs", "seek"),
]


@pytest.fixture
def cli(seek_plugins, hello_plugin, tmp_path, monkeypatch):
    seek_plugins.register(hello_plugin, "hello", distribution="seek-hello")
    monkeypatch.setenv("SEEK_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.chdir(tmp_path)
    return seek_plugins


def _block(monkeypatch, module: str) -> None:
    """Make ``module`` (and any of its loaded submodules) raise ImportError on import."""
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, module, None)


@pytest.mark.parametrize(("argv", "module", "extra", "distribution"), COMMANDS, ids=lambda v: str(v))
def test_each_command_names_the_extra_when_its_module_is_missing(
    cli, monkeypatch, tmp_path, argv, module, extra, distribution
):
    _block(monkeypatch, module)
    result = cli.invoke(*argv)
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1, result.output
    assert result.output.startswith(f"error: seek {argv[0]}")
    assert f" needs {module}, which is not installed: " in result.output
    assert f"pip install '{distribution}[{extra}]'" in result.output
    assert "Traceback" not in result.output
    # Nothing was started: no run folder, no tracking store, no plugin folder.
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_require_returns_the_module_or_a_tuple_of_modules():
    assert require("x", "json") is json
    first, second = require("x", "json", "types")
    assert (first, second) == (json, types)


def test_require_raises_missing_extra_with_exit_code_2(monkeypatch):
    monkeypatch.setitem(sys.modules, "seek_absent_dep", None)
    with pytest.raises(MissingExtra) as caught:
        require("dicom", "seek_absent_dep", distribution="seek-medical", needed_by="seek medical detect")
    error = caught.value
    assert isinstance(error, SeekError) and error.exit_code == 2
    assert str(error) == (
        "seek medical detect needs seek_absent_dep, which is not installed: pip install 'seek-medical[dicom]'"
    )
    assert error.pip_command == pip_command("dicom", "seek-medical") == "pip install 'seek-medical[dicom]'"


def test_a_broken_dependency_inside_an_installed_module_stays_a_traceback(tmp_path, monkeypatch):
    (tmp_path / "seek_half_installed.py").write_text("import seek_missing_inner_dep\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(sys.modules, "seek_missing_inner_dep", None)
    with pytest.raises(ImportError) as caught:
        require("x", "seek_half_installed")
    assert not isinstance(caught.value, MissingExtra)
