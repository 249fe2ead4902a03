"""Train the full-size medical-nodule detector on one GPU (core Trainer, bf16 AMP), time GPU inference.

    python benchmarks/bench_medical_gpu.py --out OUT [--train-seconds 240] [--studies 240] [--tiny]

Renders the training phantoms on the GPU (fields of view 160-340 mm, 64-112 mm along z, 1.0 mm
isotropic), trains the width-16 3D attention CNN on 64^3 patches until the time budget is spent (epochs
end early through a trainer callback), and times whole-volume inference (sliding windows + peaks + CRF)
on a 360 x 360 x 300 voxel volume — what a 512 x 512 x 300 series at 0.7 mm becomes at 1 mm. Needs only
torch and numpy on the machine (pydicom/SimpleITK are reported, not required): the held-out DICOM
evaluation of the trained weights runs afterwards with benchmarks/bench_medical_eval.py. Writes
OUT/run (the run folder, checkpoints removed) and OUT/gpu.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "core", ROOT / "plugins" / "medical" / "src"):
    sys.path.insert(0, str(extra))


class TimeBudget:
    """Stop training at the first epoch end after ``seconds`` of training."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = 0.0

    def on_train_start(self, trainer):
        self.started = time.perf_counter()

    def on_batch_loss(self, trainer, batch, loss):
        return loss

    def on_step_end(self, trainer, step, logs):
        pass

    def on_epoch_end(self, trainer, epoch, metrics):
        from seek.training.callbacks import StopTraining

        elapsed = time.perf_counter() - self.started
        print(f"epoch {epoch}: {elapsed:.0f} s, val_loss {metrics.get('val_loss', float('nan')):.4f}", flush=True)
        if elapsed > self.seconds:
            raise StopTraining(f"time budget of {self.seconds:.0f} s spent")

    def on_train_end(self, trainer, result):
        pass


def full_config(studies: int, tiny: bool) -> dict:
    """The full-size configuration (``--tiny``: the same code path in seconds on a CPU)."""
    if tiny:
        return {
            "simulation": {
                "train_studies": 3,
                "val_studies": 1,
                "val_patches": 4,
                "test_studies": 0,
                "fov_mm": 96.0,
                "train_fov_mm": (96.0, 112.0),
                "z_extent_mm": 24.0,
            },
            "model": {"width": 4, "levels": 2},
            "train": {"epochs": 2, "samples_per_epoch": 8, "batch_size": 4, "patch": 16},
            "detect": {"spacing_mm": 1.5, "window": 32},
        }
    return {
        "simulation": {
            "train_studies": studies,
            "val_studies": 8,
            "val_patches": 512,
            "test_studies": 0,
            "fov_mm": 200.0,
            "train_fov_mm": (160.0, 340.0),
            "z_extent_mm": 96.0,
        },
        "model": {"width": 16, "levels": 3},
        "train": {
            "epochs": 400,
            "samples_per_epoch": 2048,
            "batch_size": 32,
            "patch": 64,
            "lr": 2e-3,
            "precision": "bf16",
            "patience": 400,
        },
        "detect": {"spacing_mm": 1.0, "window": 96, "overlap": 0.25},
        "threads": 8,
    }


def stub_polars() -> None:
    """The device image has no polars (and its 54 MB wheel would not fit the transfer): the medical run rejects no
    rows, so the runner's ``write_rejected`` only needs ``import polars`` to succeed; any real use fails loudly."""
    try:
        import polars  # noqa: F401
    except ImportError:
        import types

        stub = types.ModuleType("polars")

        def missing(name):
            raise AttributeError(f"polars.{name}: polars is not installed on this machine")

        stub.__getattr__ = missing
        sys.modules["polars"] = stub


def main() -> None:
    stub_polars()
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--train-seconds", type=float, default=240.0)
    parser.add_argument("--studies", type=int, default=240)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--inference-only", metavar="RUN_DIR", help="Only time inference with this run's detector.")
    args = parser.parse_args()
    import torch

    from seek.config import resolve_config
    from seek.runner import execute
    from seek_medical.app import NoduleApp

    out = Path(args.out)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.inference_only:
        record = {
            "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
            "inference": time_inference(Path(args.inference_only), device, args.tiny),
        }
        out.mkdir(parents=True, exist_ok=True)
        (out / "gpu_inference.json").write_text(json.dumps(record, indent=1))
        print(json.dumps(record, indent=1), flush=True)
        return
    env = {
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
        "pydicom": importlib.util.find_spec("pydicom") is not None,
        "SimpleITK": importlib.util.find_spec("SimpleITK") is not None,
    }
    print(json.dumps(env), flush=True)
    app = NoduleApp()
    config = resolve_config(app.Config, base=full_config(args.studies, args.tiny))
    started = time.perf_counter()
    result = execute(
        app,
        config,
        out=out / "run",
        device=device,
        seed=0,
        show_progress=False,
        callbacks=[TimeBudget(args.train_seconds)],
    )
    total = time.perf_counter() - started
    shutil.rmtree(out / "run" / "checkpoints", ignore_errors=True)  # unsealed; not needed to ship the weights
    record = {"env": env, "run_seconds": round(total, 1), "timings": result.timings, "metrics": result.report.metrics}
    record["inference"] = time_inference(out / "run", device, args.tiny)
    (out / "gpu.json").write_text(json.dumps(record, indent=1))
    print(json.dumps(record, indent=1), flush=True)


def time_inference(run_dir: Path, device: str, tiny: bool) -> dict:
    """Seconds per study for sliding windows + peaks + CRF on a 360 x 360 x 300 voxel volume (1 mm)."""
    import numpy as np
    import torch

    from seek.artifacts import artifacts, load_artifact
    from seek.runs import load_run
    from seek_medical.crf import CRFConfig, refine_candidate
    from seek_medical.detect import _sigmoid, _upsample, candidates, sliding_window
    from seek_medical.model import SEGMENT
    from seek_medical.phantom import random_thorax, render
    from seek_medical.preprocess import normalise

    run = load_run(run_dir)
    model = load_artifact(run, "detector", device=device)
    settings = artifacts(run)["detector"].meta["settings"]
    spacing = settings["spacing_mm"]
    side, length = (64, 48) if tiny else (360, 300)
    thorax = random_thorax(np.random.default_rng(123), side * spacing, length * spacing)
    xs = (np.arange(side) - (side - 1) / 2) * spacing
    zs = (np.arange(length) - (length - 1) / 2) * spacing
    hu = render(thorax, xs, xs, zs, device).cpu().numpy()
    crf = CRFConfig(**settings["crf"])
    times = []
    for _ in range(3):
        if device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        maps = sliding_window(model, normalise(hu), settings["window"], settings["overlap"], device, batch=4)
        found = candidates(maps, settings["threshold"], settings["max_candidates"])
        probability = _upsample(_sigmoid(maps[SEGMENT]), hu.shape)
        for cand in found[:10]:
            refine_candidate(hu, probability, cand["kji"], cand["d"], spacing, crf, device)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return {"volume": [length, side, side], "seconds": [round(t, 3) for t in times], "candidates": len(found)}


if __name__ == "__main__":
    main()
