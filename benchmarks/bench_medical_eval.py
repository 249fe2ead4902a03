"""Evaluate a medical-nodule detector on held-out synthetic studies through the whole DICOM path.

    python benchmarks/bench_medical_eval.py [--model RUN_DIR] [--studies 20] [--fov 160] [--length 48] [--out JSON]

Without ``--model`` the weights shipped inside seek-medical are used. Each study is simulated (seeds
disjoint from every training split), written as DICOM, read back with seek_medical.dicom, resampled with
SimpleITK, detected with sliding windows, refined by the CRF and scored with the LUNA16 protocol. Prints
and writes the metrics (FROC points, CPM, by size and type, Dice with and without CRF, seconds per study).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "core", ROOT / "plugins" / "medical" / "src"):
    sys.path.insert(0, str(extra))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", help="a medical-nodule run folder (default: the shipped weights)")
    parser.add_argument("--studies", type=int, default=20)
    parser.add_argument("--fov", type=float, default=160.0)
    parser.add_argument("--length", type=float, default=48.0)
    parser.add_argument("--window", type=int, help="sliding-window side (default: the model's setting)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", help="write the metrics JSON here")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from seek_medical.app import SimulationConfig
    from seek_medical.evaluate import froc_table, table_by_size
    from seek_medical.pipeline import evaluate_held_out
    from seek_medical.serve import NodulePredictor

    predictor = NodulePredictor.from_run(args.model) if args.model else NodulePredictor.shipped()
    settings = replace(predictor.settings, window=args.window) if args.window else predictor.settings
    simulation = SimulationConfig(fov_mm=args.fov, z_extent_mm=args.length, test_studies=args.studies)
    seeds = [900_100_000 + i for i in range(args.studies)]  # never a training, validation, run test or CRF-tuning seed
    started = time.perf_counter()
    evaluation = evaluate_held_out(predictor.model, settings, seeds, simulation, "cpu")
    metrics = evaluation.metrics()
    record = {
        "model": predictor.source,
        "studies": args.studies,
        "fov_mm": args.fov,
        "length_mm": args.length,
        "window": settings.window,
        "threads": args.threads,
        "seconds": round(time.perf_counter() - started, 1),
        "metrics": metrics,
        "froc_table": froc_table(metrics),
        "by_size": table_by_size(evaluation.froc),
    }
    print(json.dumps(record, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
