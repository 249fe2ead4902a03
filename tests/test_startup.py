"""Start-up cost: the light commands must not import the heavy libraries."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = [
    "torch",
    "polars",
    "lightgbm",
    "pydicom",
    "SimpleITK",
    "onnxruntime",
    "onnx",
    "sklearn",
    "pandas",
    "fastapi",
    "uvicorn",
    "celery",
    "mlflow",
    "copier",
    "optuna",
]

PROBE = """
import json, sys
from seek.cli import main
try:
    main({args!r})
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["plugins", "list"], ["apps", "list"]])
def test_light_commands_import_no_heavy_library(args):
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)], capture_output=True, text=True, timeout=120
    )
    loaded = json.loads(done.stderr.strip().splitlines()[-1])
    assert loaded == [], f"seek {' '.join(args)} imported {loaded}"


def test_help_builds_no_app_and_imports_no_pydantic():
    # Apps (and their pydantic Configs) are collected on first use: --help only needs the commands.
    probe = PROBE.format(args=["--help"], heavy=["pydantic", "seek.app", "seek.apps.digits"])
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []


SERVING_HEAVY = [*HEAVY, "fastapi", "starlette", "uvicorn", "celery", "redis", "prometheus_client"]


@pytest.mark.parametrize(
    "args", [["serve", "--help"], ["models", "list"], ["keys", "--help"], ["worker", "--help"], ["monitor", "--help"]]
)
def test_serving_commands_start_without_web_or_queue_libraries(args, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=[*args], heavy=SERVING_HEAVY)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SEEK_RUNS_DIR": str(tmp_path)},
    )
    loaded = json.loads(done.stderr.strip().splitlines()[-1])
    assert loaded == [], f"seek {' '.join(args)} imported {loaded}"
