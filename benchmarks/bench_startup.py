"""Wall time of `seek --help` (and other light commands) against `python -c pass`, median of N runs."""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def _time(cmd: list[str], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    """Print a Markdown table of median wall times and the ratio to a bare interpreter."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    seek = shutil.which("seek") or "seek"
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "seek --help": [seek, "--help"],
        "seek --version": [seek, "--version"],
        "seek plugins list": [seek, "plugins", "list"],
        "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    }
    base = None
    print("| command | median wall time (ms) | ratio to `python -c pass` |")
    print("|---|---|---|")
    for label, cmd in cases.items():
        seconds = _time(cmd, args.repeat)
        base = base or seconds
        print(f"| `{label}` | {seconds * 1000:.0f} | {seconds / base:.1f}x |")


if __name__ == "__main__":
    main()
