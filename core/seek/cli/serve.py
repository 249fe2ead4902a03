"""``seek serve``: the HTTP API (FastAPI on uvicorn) for every installed app's promoted model."""

from __future__ import annotations

import os

import click

from seek.errors import ConfigError


def _batching(specs: tuple[str, ...]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for spec in specs:
        app, sep, rest = spec.partition("=")
        size, sep2, wait = rest.partition(":")
        try:
            if not (sep and sep2 and app):
                raise ValueError
            out[app] = [int(size), float(wait)]
        except ValueError:
            raise ConfigError(f"--batch {spec}: expected APP=MAX_BATCH:MAX_WAIT_MS, e.g. finance-fraud=32:2") from None
    return out


@click.command("serve")
@click.option("--apps", "apps", default=None, help="Comma-separated apps to serve (default: every installed app).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (0.0.0.0 only on purpose).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="uvicorn worker processes.")
@click.option("--root", default=None, help="Runs root holding the registry (default: $SEEK_RUNS_DIR or ./runs).")
@click.option("--max-batch", default=32, show_default=True, type=click.IntRange(1, 4096), help="1 turns batching off.")
@click.option("--max-wait-ms", default=2.0, show_default=True, type=click.FloatRange(0, 1000))
@click.option("--batch", "batch", multiple=True, metavar="APP=N:MS", help="Per-app batching, e.g. finance-fraud=64:5.")
@click.option(
    "--timeout",
    "timeout_s",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.01, 3600),
    help="Seconds a prediction may take (then 504).",
)
@click.option("--max-body", "max_body", default=1 << 20, show_default=True, type=click.IntRange(1), help="Bytes.")
@click.option("--max-upload", "max_upload", default=256 << 20, show_default=True, type=click.IntRange(1), help="Bytes.")
@click.option("--no-auth", is_flag=True, help="Serve without API keys (only allowed on a loopback address).")
@click.option(
    "--broker", default=None, help="Redis URL for Celery jobs (default: $SEEK_BROKER_URL; none = in-process)."
)
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--no-metrics", is_flag=True, help="Do not collect Prometheus metrics.")
def command(
    apps: str | None,
    host: str,
    port: int,
    workers: int,
    root: str | None,
    max_batch: int,
    max_wait_ms: float,
    batch: tuple[str, ...],
    timeout_s: float,
    max_body: int,
    max_upload: int,
    no_auth: bool,
    broker: str | None,
    log_format: str,
    no_metrics: bool,
) -> None:
    """Serve every installed app's promoted model over HTTP (OIP v2 + JSON routes + async jobs)."""
    from seek.extras import require
    from seek.runner import default_root
    from seek.serving.settings import ENV, LOOPBACK, ServeSettings

    require("serve", "fastapi", "uvicorn", "multipart", needed_by="seek serve")
    if no_auth and host not in LOOPBACK:
        raise ConfigError(f"--no-auth with --host {host}: serving without API keys is only allowed on 127.0.0.1")
    names = [a.strip() for a in apps.split(",") if a.strip()] if apps else None
    if names:
        from seek.cli import current_manager

        manager = current_manager()
        for name in names:
            manager.app(name)  # unknown app: one line now, not in every worker
    settings = ServeSettings(
        root=str(root or default_root()),
        apps=names,
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        batching=_batching(batch),
        timeout_s=timeout_s,
        max_body_bytes=max_body,
        max_upload_bytes=max_upload,
        auth=not no_auth,
        broker_url=broker or os.environ.get("SEEK_BROKER_URL") or None,
        log_format=log_format,
        metrics=not no_metrics,
    )
    os.environ[ENV] = settings.to_env()
    if workers > 1 and not no_metrics and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="seek-metrics-")
    import uvicorn

    from seek.serving.logs import configure

    configure(log_format)
    uvicorn.run(
        "seek.serving.server:factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
