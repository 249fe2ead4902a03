"""Time and memory to load a 512 x 512 x 300 CT series: seek_medical.dicom vs SimpleITK's ImageSeriesReader.

    python benchmarks/bench_medical_load.py [--rounds 3] [--slices 300] [--keep DIR]

Writes one synthetic series (512 x 512 pixels of 0.7 mm, 300 slices of 1 mm, uncompressed, random file
names, InstanceNumber against z) and loads it in fresh subprocesses, alternating the two readers. Each
child reports the wall time of the load and its peak resident memory above what it held after importing
its reader (VmHWM minus VmRSS before the load; ru_maxrss would carry the parent's peak across
exec). Both readers give the same voxels (checked once). Prints a JSON record.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATHS = [str(ROOT / "core"), str(ROOT / "plugins" / "medical" / "src")]
for extra in PATHS:
    sys.path.insert(0, extra)

OURS = """
import sys, time
sys.path[:0] = {paths!r}
from seek_medical.dicom import read_series
def status(key):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(key))
base = status("VmRSS:")
t = time.perf_counter(); volume = read_series({folder!r}); t = time.perf_counter() - t
peak = status("VmHWM:")
print(t, (peak - base) / 1024, volume.hu.nbytes / 2**20, volume.hu.dtype)
"""
SITK = """
import sys, time
import SimpleITK as sitk
def status(key):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(key))
base = status("VmRSS:")
t = time.perf_counter()
reader = sitk.ImageSeriesReader()
reader.SetFileNames(reader.GetGDCMSeriesFileNames({folder!r}))
image = reader.Execute()
array = sitk.GetArrayViewFromImage(image)
t = time.perf_counter() - t
peak = status("VmHWM:")
print(t, (peak - base) / 1024, array.nbytes / 2**20, array.dtype)
"""


def write_series(folder: Path, slices: int) -> None:
    """A 512 x 512 x ``slices`` series: a 30-slice phantom slab repeated along z (the content does not matter here)."""
    import numpy as np

    from seek_medical.phantom import random_thorax, render
    from seek_medical.simulate import ScanParams, SimulatedStudy, write_study

    rng = np.random.default_rng(0)
    scan = ScanParams(
        pixel_spacing=0.7, rows=512, columns=512, thickness=1.0, spacing=1.0, slices=slices, instance_order="descending"
    )
    thorax = random_thorax(rng, 358.4, 30.0, nodules=(0, 0))
    xs = (np.arange(512) - 255.5) * 0.7
    slab = render(thorax, xs, xs, np.arange(30) - 14.5).round().clamp(-1024, 3071).short().numpy()
    hu = np.concatenate([slab] * (slices // 30 + 1))[:slices]
    labels = np.zeros(hu.shape, dtype=np.uint8)
    uids = {"study": "2.25.1.1", "series": "2.25.1.2", "frame": "2.25.1.3", "sop_root": "2.25.1.4"}
    write_study(SimulatedStudy(thorax, scan, hu, labels, (-178.85, -178.85, 0.0), 0, uids), folder)


def child(code: str, folder: Path) -> tuple[float, float, float, str]:
    out = subprocess.run(
        [sys.executable, "-c", code.format(folder=str(folder), paths=PATHS)], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), float(out[1]), float(out[2]), out[3]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--keep", help="write the series here and keep it")
    args = parser.parse_args()
    import numpy as np
    import SimpleITK as sitk

    from seek_medical.dicom import read_series

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp) / "series"
        if not folder.exists():
            write_series(folder, args.slices)
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
        same = bool(np.array_equal(read_series(folder).hu, sitk.GetArrayFromImage(reader.Execute())))
        results: dict[str, list[tuple[float, float, float, str]]] = {"seek": [], "simpleitk": []}
        for _ in range(args.rounds):
            results["seek"].append(child(OURS, folder))
            results["simpleitk"].append(child(SITK, folder))
    summary = {}
    for name, rows in results.items():
        summary[name] = {
            "seconds_median": round(statistics.median(r[0] for r in rows), 3),
            "seconds": [round(r[0], 3) for r in rows],
            "peak_mib_above_imports_median": round(statistics.median(r[1] for r in rows), 1),
            "array_mib": round(rows[0][2], 1),
            "dtype": rows[0][3],
        }
    summary["time_ratio_seek_over_simpleitk"] = round(
        summary["seek"]["seconds_median"] / summary["simpleitk"]["seconds_median"], 3
    )
    summary["memory_ratio_seek_over_simpleitk"] = round(
        summary["seek"]["peak_mib_above_imports_median"] / summary["simpleitk"]["peak_mib_above_imports_median"], 3
    )
    summary["same_voxels"] = same
    summary["series"] = f"512 x 512 x {args.slices}, uncompressed, 16-bit"
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
