"""A real pip install of the fixture plugin into a fresh virtual environment, then a real uninstall."""

from __future__ import annotations

import site
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
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    _see_outer_site_packages(python)
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


def _see_outer_site_packages(python: Path) -> None:
    """Let the new venv import what the running interpreter has (seek, its dependencies), downloading nothing.

    ``system_site_packages=True`` would point at the *base* interpreter, which does not have seek when the
    tests themselves run inside a virtual environment; a .pth line that calls ``site.addsitedir`` on the
    running interpreter's site folders works from a venv and from the system Python alike, and also runs
    the editable-install hooks those folders hold.
    """
    inner = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    outer = [p for p in [*site.getsitepackages(), site.getusersitepackages()] if Path(p).is_dir()]
    lines = [f"import site; site.addsitedir({folder!r})" for folder in outer]
    (Path(inner) / "_seek_test_outer_site.pth").write_text("\n".join(lines) + "\n")


def _pip_has_python_flag() -> bool:
    done = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True)
    major, minor = (int(x) for x in done.stdout.split()[1].split(".")[:2])
    return (major, minor) >= (22, 3)
