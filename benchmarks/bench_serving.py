"""Serving load test: max sustained req/s with zero errors, p50/p99, micro-batching on/off, 1 and 2 workers.

    OMP_NUM_THREADS=1 python benchmarks/bench_serving.py [--app quickstart-digits] [--hold 60] [--step 8]

Trains a quickstart-digits run (tiny settings; serving cost does not depend on accuracy), promotes it
into a temporary runs root, then for each configuration starts ``seek serve`` on 127.0.0.1 and drives
it from a separate process (bench_serving_load.py): a rate sweep (``--step`` seconds a rate) to find
the highest rate served with zero errors, achieved >= 97% of offered and p99 under 200 ms, and a
``--hold``-second run at 200 req/s for the target figure. One record per request (a single transaction).
Writes benchmarks/results/serving.json and serving.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).parent
RATES = (100, 200, 300, 400, 600, 800, 1000, 1300, 1600)
CONFIGS = (
    ("1 worker, micro-batching 32 / 2 ms", 1, ["--max-batch", "32", "--max-wait-ms", "2"]),
    ("1 worker, no batching", 1, ["--max-batch", "1"]),
    ("2 workers, micro-batching 32 / 2 ms", 2, ["--max-batch", "32", "--max-wait-ms", "2"]),
    ("2 workers, no batching", 2, ["--max-batch", "1"]),
    ("1 worker, micro-batching, metrics off", 1, ["--max-batch", "32", "--max-wait-ms", "2", "--no-metrics"]),
)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train(root: Path) -> Path:
    from seek.apps.digits import DigitsApp
    from seek.runner import execute
    from seek.serving.registry import Registry

    app = DigitsApp()
    run = execute(app, app.Config.model_validate(app.tiny), out=root / "digits-run", device="cpu", show_progress=False)
    Registry(root).promote(run.path)
    return run.path


def _serve(root: Path, workers: int, extra: list[str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "seek", "serve", "--root", str(root), "--port", str(port), "--no-auth",
         "--workers", str(workers), "--apps", "quickstart-digits", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not become ready")


def _load(url: str, body: Path, rate: float, duration: float) -> dict:
    done = subprocess.run(
        [sys.executable, str(HERE / "bench_serving_load.py"), f"{url}/v1/apps/quickstart-digits/predict",
         "--rate", str(rate), "--duration", str(duration), "--body", str(body)],
        capture_output=True, text=True, timeout=duration + 120,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cpu_s(proc: subprocess.Popen) -> float:
    """CPU seconds used so far by the server and its worker processes."""
    import psutil

    root = psutil.Process(proc.pid)
    total = 0.0
    for p in [root, *root.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _sustained(result: dict) -> bool:
    return (
        not result["errors"]
        and result["achieved_rps"] >= 0.97 * result["rate"]
        and result["p99_ms"] is not None
        and result["p99_ms"] < 200
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hold", type=float, default=60.0)
    parser.add_argument("--step", type=float, default=8.0)
    args = parser.parse_args()
    from sklearn.datasets import load_digits

    work = Path(tempfile.mkdtemp(prefix="seek-bench-serving-"))
    _train(work)
    body = work / "body.json"
    body.write_text(json.dumps({"records": [{"pixels": load_digits().data[0].tolist()}]}))
    results = []
    for label, workers, extra in CONFIGS:
        proc, url = _serve(work, workers, extra)
        try:
            _load(url, body, 100, 2)  # warm-up
            sweep, best = [], None
            for rate in RATES:
                result = _load(url, body, rate, args.step)
                sweep.append(result)
                print(label, json.dumps(result), flush=True)
                if not _sustained(result):
                    break
                best = result
            cpu_before = _cpu_s(proc)
            hold = _load(url, body, 200, args.hold)
            hold["server_cpu_ms_per_request"] = round((_cpu_s(proc) - cpu_before) * 1000 / max(hold["ok"], 1), 3)
            print(label, "hold", json.dumps(hold), flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        results.append({"config": label, "workers": workers, "sweep": sweep, "max_sustained": best, "hold_200": hold})
    shutil.rmtree(work, ignore_errors=True)
    meta = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared with other agents)",
        "python": platform.python_version(),
        "app": "quickstart-digits",
        "command": "OMP_NUM_THREADS=1 python benchmarks/bench_serving.py " + " ".join(sys.argv[1:]),
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "serving.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    lines = [
        "| configuration | max sustained req/s (0 errors, p99 < 200 ms) | p50 / p99 there (ms) "
        f"| p50 / p99 at 200 req/s for {args.hold:.0f} s (ms) | achieved req/s | errors | server CPU ms / request |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        best, hold = r["max_sustained"], r["hold_200"]
        there = f"{best['p50_ms']} / {best['p99_ms']}" if best else "-"
        lines.append(
            f"| {r['config']} | {best['rate'] if best else '<100'} | {there} | {hold['p50_ms']} / {hold['p99_ms']} | "
            f"{hold['achieved_rps']} | {sum(hold['errors'].values()) if hold['errors'] else 0} | "
            f"{hold['server_cpu_ms_per_request']} |"
        )
    (out / "serving.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
