"""A real pip install of the fixture plugin into a fresh virtual environment, then a real uninstall."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "seek-hello"


def _run(*cmd: str | Path) -> str:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_pip_install_makes_the_app_appear_and_uninstall_removes_it(tmp_path):
    env_dir = tmp_path / "venv"
    # system site packages bring seek and its dependencies, so nothing is downloaded
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", python] if _pip_has_python_flag() else [python, "-m", "pip"]
    before = _run(python, "-m", "seek", "apps", "list")
    assert "hello-stats" not in before
    _run(*pip, "install", "--no-deps", "--no-index", "--no-build-isolation", "--quiet", FIXTURE)
    after = _run(python, "-m", "seek", "apps", "list")
    assert "hello-stats" in after
    listing = _run(python, "-m", "seek", "plugins", "list", "--json")
    assert '"distribution": "seek-hello"' in listing and '"version": "0.3.1"' in listing
    assert "hello from seek-hello" in _run(python, "-m", "seek", "hello")
    _run(*pip, "uninstall", "--yes", "--quiet", "seek-hello")
    assert "hello-stats" not in _run(python, "-m", "seek", "apps", "list")


def _pip_has_python_flag() -> bool:
    done = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True)
    major, minor = (int(x) for x in done.stdout.split()[1].split(".")[:2])
    return (major, minor) >= (22, 3)
