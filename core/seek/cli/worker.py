"""``seek worker``: a Celery worker running async jobs from Redis."""

from __future__ import annotations

import os

import click

from seek.errors import ConfigError


@click.command("worker")
@click.option("--broker", default=None, help="Redis URL (default: $SEEK_BROKER_URL).")
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 256), help="Jobs at once.")
@click.option("--root", default=None, help="Runs root with the registry and uploads (default: $SEEK_RUNS_DIR).")
@click.option("--loglevel", default="INFO", show_default=True)
def command(broker: str | None, concurrency: int, root: str | None, loglevel: str) -> None:
    """Run jobs submitted to `seek serve --broker URL` (late ack: a killed worker's job is redelivered)."""
    from seek.extras import require

    require("jobs", "celery", "redis", needed_by="seek worker")
    url = broker or os.environ.get("SEEK_BROKER_URL")
    if not url:
        raise ConfigError("seek worker needs a broker: --broker redis://HOST:6379/0 or SEEK_BROKER_URL")
    if root:
        os.environ["SEEK_RUNS_DIR"] = root
    from seek.serving.worker import run_worker

    run_worker(url, concurrency=concurrency, loglevel=loglevel)
