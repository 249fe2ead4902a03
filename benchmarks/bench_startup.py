"""Wall time of `seek --help` (and other light commands) against the floor any click + pluggy CLI pays.

The floor is `python -c "import click, pluggy, importlib.metadata as m; m.entry_points(group='seek')"`:
the imports and the entry-point scan no plugin host can avoid. Commands are timed interleaved (one
round of every command, N rounds) so load on a shared machine hits all of them alike; medians.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def _once(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


FLOOR = "import click, pluggy, importlib.metadata as m; m.entry_points(group='seek')"


def main() -> None:
    """Print a Markdown table of median wall times and the ratio to the floor."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    seek = shutil.which("seek") or "seek"
    cases = {
        "floor: click + pluggy + entry points": [sys.executable, "-c", FLOOR],
        "python -c pass": [sys.executable, "-c", "pass"],
        "seek --help": [seek, "--help"],
        "seek --version": [seek, "--version"],
        "seek plugins list": [seek, "plugins", "list"],
        "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    }
    samples: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(args.repeat):
        for label, cmd in cases.items():
            samples[label].append(_once(cmd))
    medians = {label: statistics.median(values) for label, values in samples.items()}
    floor = medians["floor: click + pluggy + entry points"]
    print("| command | median wall time (ms) | ratio to the floor |")
    print("|---|---|---|")
    for label, seconds in medians.items():
        print(f"| `{label}` | {seconds * 1000:.0f} | {seconds / floor:.2f}x |")


if __name__ == "__main__":
    main()
