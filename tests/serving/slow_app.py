"""A test-only app whose predictor takes a while per record, and a launcher for a worker that serves it."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

from seek.app import App, AppConfig, Report


class SlowConfig(AppConfig):
    """No settings."""


class SlowApp(App[SlowConfig]):
    """Echo each record's ``n`` doubled, slowly (SEEK_TEST_SLOW_S seconds a record)."""

    name: ClassVar[str] = "test-slow"
    summary: ClassVar[str] = "test app: a slow predictor"
    Config: ClassVar[type[AppConfig]] = SlowConfig

    def run(self, config: SlowConfig, ctx: Any) -> Report:
        return Report(metrics={"ok": 1.0})

    def predictor(self, run_dir: Any) -> Any:
        return SlowPredictor()


class SlowPredictor:
    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from seek.errors import DataError

        out = []
        for i, record in enumerate(batch):
            if not isinstance(record.get("n"), int):
                raise DataError(f"record {i}: field 'n' must be an integer")
            time.sleep(float(os.environ.get("SEEK_TEST_SLOW_S", "0.2")))
            out.append({"n": record["n"], "double": record["n"] * 2, "pid": os.getpid()})
        return out


class SlowPlugin:
    """The hook implementation registering SlowApp."""

    import seek

    @seek.hookimpl
    def seek_apps(self) -> list[App[Any]]:
        return [SlowApp()]


def sealed_run(root: Path) -> Path:
    """A finished, sealed run folder of test-slow."""
    from seek.runs import RunFolder

    run = RunFolder(root / "test-slow" / "r1")
    run.write_json("run.json", {"app": "test-slow", "status": "finished"})
    run.seal()
    return run.path


def main() -> None:
    """``python slow_app.py BROKER_URL``: a real Celery worker (seek.serving.worker) that also knows test-slow."""
    from seek.plugins import get_manager
    from seek.serving.worker import run_worker

    get_manager().register(SlowPlugin(), name="test-slow")
    run_worker(sys.argv[1])


if __name__ == "__main__":
    main()
