"""Shared serving fixtures: a throw-away redis-server, a trained digits run, runs roots, live servers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from seek.testing import free_port

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def redis_url(seek_redis_url: str) -> str:
    """The session's throw-away redis-server (seek.testing's ``seek_redis_url``)."""
    return seek_redis_url


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny quickstart-digits run (about 8 s), shared by every serving test."""
    from seek.apps.digits import DigitsApp
    from seek.runner import execute

    app = DigitsApp()
    config = app.Config.model_validate(app.tiny)
    out = tmp_path_factory.mktemp("digits") / "run"
    return execute(app, config, out=out, device="cpu", seed=0, show_progress=False).path


@pytest.fixture
def runs_root(tmp_path: Path, digits_run: Path) -> Path:
    """A runs root holding a copy of the digits run, promoted as v1."""
    from seek.serving.registry import Registry

    root = tmp_path / "runs"
    shutil.copytree(digits_run, root / "quickstart-digits" / "v1")
    Registry(root).promote(root / "quickstart-digits" / "v1")
    return root


def digits_records(n: int = 4) -> list[dict]:
    """Valid digits records."""
    from sklearn.datasets import load_digits

    return [{"pixels": row.tolist()} for row in load_digits().data[:n]]


class LiveServer:
    """A real ``seek serve`` process on 127.0.0.1."""

    def __init__(self, root: Path, args: list[str], env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {**os.environ, "SEEK_RUNS_DIR": str(root), "OMP_NUM_THREADS": "1", **(env or {})}
        full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.log = root / f"server-{self.port}.log"
        self._log = open(self.log, "wb")  # noqa: SIM115 - held open for the life of the server process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "seek", "serve", "--port", str(self.port), "--root", str(root), *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=full_env,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/v2/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server not ready in {timeout} s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture
def live_server(runs_root: Path) -> Iterator[callable]:
    """``live_server(*args, env=...)``: start `seek serve` on a free port over ``runs_root``; stopped after."""
    started: list[LiveServer] = []

    def start(*args: str, env: dict[str, str] | None = None) -> LiveServer:
        server = LiveServer(runs_root, list(args), env)
        started.append(server)
        server.wait_ready()
        return server

    yield start
    for server in started:
        server.stop()
