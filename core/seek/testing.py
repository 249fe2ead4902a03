"""pytest fixtures for plugin authors (loaded automatically as the ``seek`` pytest plugin).

- ``seek_plugins``: a fresh plugin manager (core apps only) to register plugins into, with a CLI runner.
- ``seek_run_dir``: an empty, temporary run folder (:class:`seek.runs.RunFolder`).
- ``seek_tiny_config``: build an app's Config from its ``tiny`` overrides plus your own.
- ``seek_run_app``: run an app end to end into a temporary folder and return the verified run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from seek import hookimpl

if TYPE_CHECKING:
    import click
    from click.testing import Result

    from seek.app import App, AppConfig
    from seek.plugins import PluginManager, PluginRecord
    from seek.runs import RunFolder, VerifiedRun


class PluginHarness:
    """A plugin manager for one test, plus helpers to register plugins and drive the CLI."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        from seek.plugins import PluginManager

        self.manager: PluginManager = PluginManager(env=env or {})
        self.manager.load_builtins()

    def register(
        self, plugin: object, name: str, distribution: str | None = None, version: str = "0.0.1"
    ) -> PluginRecord:
        """Register a plugin object (a module, class or instance with hookimpls)."""
        return self.manager.register(plugin, name=name, distribution=distribution, version=version)

    def register_failing(self, name: str, error: BaseException, distribution: str | None = None) -> PluginRecord:
        """Register a plugin whose import raises ``error``."""

        def loader() -> object:
            raise error

        return self.manager.load(name, loader, distribution=distribution, version="0.0.1")

    def cli(self) -> click.Group:
        """The ``seek`` command bound to this manager."""
        from seek.cli import build_cli

        return build_cli(self.manager)

    def invoke(self, *args: str, **kwargs: Any) -> Result:
        """Run ``seek ARGS`` in-process and return click's result (stdout and stderr kept apart)."""
        from click.testing import CliRunner

        return CliRunner().invoke(self.cli(), list(args), obj=self.manager, **kwargs)


@pytest.fixture
def seek_plugins() -> PluginHarness:
    """A fresh plugin manager with only the core's apps; register your plugin into it."""
    return PluginHarness()


@pytest.fixture
def seek_run_dir(tmp_path: Path) -> RunFolder:
    """An empty temporary run folder."""
    from seek.runs import RunFolder

    return RunFolder(tmp_path / "run")


@pytest.fixture
def seek_tiny_config() -> Callable[..., AppConfig]:
    """``seek_tiny_config(app, **overrides)``: the app's tiny Config with your overrides on top."""
    from seek.config import deep_merge

    def build(app: App[Any], **overrides: Any) -> AppConfig:
        return app.Config.model_validate(deep_merge(app.tiny, overrides))

    return build


@pytest.fixture
def seek_run_app(tmp_path: Path, seek_tiny_config: Callable[..., AppConfig]) -> Callable[..., VerifiedRun]:
    """``seek_run_app(app, seed=0, **overrides)``: run the app (tiny settings) and return the verified run."""
    from seek.runner import execute
    from seek.runs import load_run

    counter = iter(range(1_000_000))

    def run(app: App[Any], seed: int = 0, **overrides: Any) -> VerifiedRun:
        config = seek_tiny_config(app, **overrides)
        result = execute(
            app, config, out=tmp_path / f"run-{next(counter)}", device="cpu", seed=seed, show_progress=False
        )
        return load_run(result.path)

    return run


# ---- the app conformance suite ------------------------------------------------------------------------

#: Metrics that measure the machine, not the model: left out when two runs are compared.
_TIMING_PREFIX = "time_"


class KillAfterCheckpoint:
    """A trainer callback that SIGKILLs its own process once a checkpoint exists (for resume tests)."""

    def _kill_if_checkpointed(self, trainer: Any) -> None:
        import os
        import signal

        directory = trainer.checkpoint_dir
        if directory is not None and any(directory.glob("step-*.safetensors")):
            os.kill(os.getpid(), signal.SIGKILL)

    def on_train_start(self, trainer: Any) -> None:
        """Nothing to do at the start."""

    def on_batch_loss(self, trainer: Any, batch: Any, loss: Any) -> Any:
        """Leave the loss alone."""
        return loss

    def on_step_end(self, trainer: Any, step: int, logs: dict[str, float]) -> None:
        """Nothing to do per step."""

    def on_epoch_end(self, trainer: Any, epoch: int, metrics: dict[str, float]) -> None:
        """Kill at the end of an epoch once an earlier checkpoint exists."""
        self._kill_if_checkpointed(trainer)

    def on_train_end(self, trainer: Any, result: Any) -> None:
        """Kill after training at the latest (the final checkpoint exists)."""
        self._kill_if_checkpointed(trainer)


def run_until_killed(app_ref: str, out: str, seed: int = 0) -> None:
    """Subprocess entry point: run ``app_ref`` ("module:Class") tiny into ``out`` and die at a checkpoint."""
    import importlib

    from seek.config import resolve_config
    from seek.runner import execute

    module_name, _, attr = app_ref.partition(":")
    app = getattr(importlib.import_module(module_name), attr)()
    config = resolve_config(app.Config, base=app.tiny)
    execute(app, config, out=out, device="cpu", seed=seed, show_progress=False, callbacks=[KillAfterCheckpoint()])


def comparable(metrics: dict[str, float]) -> dict[str, float | None]:
    """Metrics without machine-dependent timings, NaN made comparable (as None)."""
    import math

    return {
        k: (None if isinstance(v, float) and math.isnan(v) else v)
        for k, v in metrics.items()
        if not k.startswith(_TIMING_PREFIX)
    }


class AppConformance:
    """Subclass in a plugin's tests with ``app = MyApp()``; every test here must pass unchanged.

    It checks the App contract end to end with the app's ``tiny`` settings: a sealed run folder with
    flat numeric metrics and the declared artifacts; a predictor that loads and answers; device and seed
    recorded; the same seed giving the same metrics; a bad config value being one line with exit 2;
    and ``--resume`` after a real SIGKILL giving the uninterrupted metrics. Runs are shared per class.
    """

    app: Any = None

    @pytest.fixture(scope="class")
    def conformance_runs(self, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
        """Two uninterrupted tiny runs with seed 0, shared by the tests of the class."""
        from seek.config import resolve_config
        from seek.runner import execute
        from seek.runs import load_run

        root = tmp_path_factory.mktemp(f"conformance-{self.app.name}")
        runs = {}
        for name in ("first", "second"):
            config = resolve_config(self.app.Config, base=self.app.tiny)
            result = execute(self.app, config, out=root / name, device="cpu", seed=0, show_progress=False)
            runs[name] = load_run(result.path)
        return {"root": root, **runs}

    @pytest.mark.slow
    def test_tiny_run_writes_a_sealed_folder_with_flat_numeric_metrics(self, conformance_runs: dict[str, Any]) -> None:
        run = conformance_runs["first"]
        assert {"config.json", "run.json", "metrics.json", "report.md"} <= set(run.files)
        metrics = run.metrics
        assert metrics, "a run reports at least one metric"
        assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in metrics.values())
        assert run.read_json("run.json")["status"] == "finished"
        assert not list(run.path.rglob("*.tmp"))

    @pytest.mark.slow
    def test_declared_artifacts_are_recorded_by_kind(self, conformance_runs: dict[str, Any]) -> None:
        from seek.artifacts import artifacts

        recorded = artifacts(conformance_runs["first"])
        for spec in self.app.artifacts:
            if spec.required:
                assert spec.role in recorded, f"declared artifact {spec.role!r} not written"
                assert recorded[spec.role].kind == spec.kind

    @pytest.mark.slow
    def test_headline_metrics_are_in_metrics_json(self, conformance_runs: dict[str, Any]) -> None:
        assert set(self.app.headline) <= set(conformance_runs["first"].metrics)

    @pytest.mark.slow
    def test_predictor_loads_and_answers_a_batch(self, conformance_runs: dict[str, Any]) -> None:
        from seek.app import App, Predictor

        if type(self.app).predictor is App.predictor:
            pytest.skip(f"{self.app.name} serves no predictions")
        path = conformance_runs["first"].path
        predictor = self.app.predictor(path)
        assert isinstance(predictor, Predictor)
        records = self.app.example_records(path, 3)
        answers = predictor.predict(records)
        assert len(answers) == len(records)
        assert all(isinstance(answer, dict) and answer for answer in answers)

    @pytest.mark.slow
    def test_device_and_seed_reach_run_json(self, conformance_runs: dict[str, Any]) -> None:
        meta = conformance_runs["first"].read_json("run.json")
        assert (meta["device"], meta["seed"]) == ("cpu", 0)

    @pytest.mark.slow
    def test_same_seed_gives_same_metrics(self, conformance_runs: dict[str, Any]) -> None:
        first, second = conformance_runs["first"].metrics, conformance_runs["second"].metrics
        assert comparable(first) == comparable(second)

    def test_bad_config_value_is_one_line_and_exit_2(self, tmp_path: Path) -> None:
        harness = PluginHarness()
        if self.app.name not in {a.name for a in harness.manager.apps()}:
            harness.register(_SingleApp(self.app), name=f"conformance-{self.app.name}")
        field = _numeric_field(self.app.Config)
        sets = [f"{field}=not-a-number"] if field else []
        for pair in [*sets, "no_such_setting_xyz=1"]:
            result = harness.invoke("run", self.app.name, "--tiny", "--set", pair, "--out", str(tmp_path / "bad"))
            assert result.exit_code == 2, result.output
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
            assert "Traceback" not in result.output
            assert not (tmp_path / "bad").exists(), "an invalid config must fail before the run folder exists"

    @pytest.mark.slow
    def test_resume_after_sigkill_gives_the_uninterrupted_metrics(self, conformance_runs: dict[str, Any]) -> None:
        import os
        import signal
        import subprocess
        import sys

        from seek.runner import execute, stored_config
        from seek.runs import load_run

        out = conformance_runs["root"] / "killed"
        ref = f"{type(self.app).__module__}:{type(self.app).__qualname__}"
        code = f"from seek.testing import run_until_killed; run_until_killed({ref!r}, {str(out)!r})"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=900)
        if proc.returncode == 0:
            pytest.skip(f"{self.app.name} trains no model with ctx.trainer: nothing to kill and resume")
        assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
        config = stored_config(self.app, out)
        execute(self.app, config, out=out, resume=True, show_progress=False)
        resumed = load_run(out)
        assert comparable(resumed.metrics) == comparable(conformance_runs["first"].metrics)
        meta = resumed.read_json("run.json")
        assert meta["status"] == "finished" and meta["resumed"]


class _SingleApp:
    """A plugin object offering one app (to put an app that is not installed into a harness)."""

    def __init__(self, app: Any) -> None:
        self._app = app

    @hookimpl
    def seek_apps(self) -> list[Any]:
        """The one app."""
        return [self._app]


def _numeric_field(config_cls: Any) -> str | None:
    """The first top-level int/float field of a config (for a wrong-type value), or None."""
    for name, info in config_cls.model_fields.items():
        if info.annotation in (int, float):
            return str(name)
    return None


# ---- services ------------------------------------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def seek_redis_url() -> Iterator[str]:
    """A throw-away redis-server on a free loopback port (no persistence), stopped after the session.

    Tests of anything that talks to Redis (online state, Celery jobs) use a real server, never a mock;
    ``scripts/setup-tests.sh`` installs redis-server, and its absence fails the test rather than skipping it.
    """
    import shutil
    import subprocess
    import time

    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not on PATH: install it (apt-get install redis-server), as .ci/run does")
    port = free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        client = redis.Redis.from_url(url)
        for _ in range(100):
            try:
                if client.ping():
                    break
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.fail(f"redis-server on port {port} did not answer PING within 5 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
