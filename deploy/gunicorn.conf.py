"""gunicorn settings for the Seek image: uvicorn workers, one Prometheus multiprocess directory.

Workers: ``WEB_CONCURRENCY`` (gunicorn reads it; default 2, about one per CPU the pod is given).
"""

import os
import shutil

bind = os.environ.get("SEEK_BIND", "0.0.0.0:8000")  # inside a container; the Service or -p decides exposure
worker_class = "uvicorn.workers.UvicornWorker"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = int(os.environ.get("SEEK_WORKER_TIMEOUT_S", "60"))
graceful_timeout = 30
keepalive = 5
accesslog = None  # the server writes its own structured access lines


def on_starting(server):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    """Start every run with an empty metrics directory (samples of dead processes would linger)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)


def child_exit(server, worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    """Drop the gauges of a worker that exited (prometheus-client multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
