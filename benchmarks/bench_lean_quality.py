"""Does the lean block (``linear_bias=False, norm_affine=False``) learn as well as the biased one?

The biased form (biases in the block linears, LayerNorm gain and bias) was every preset's until the
GPU presets went lean; "default" in the report means it. Both forms of one preset train side by side
on the same data, seeds and schedule through ``seek.training.Trainer``; the report gives each run's
last-epoch training loss, held-out loss and accuracy, and the mean difference lean - default. The
task needs the whole sequence: a sequence of random tokens holds ``a`` copies of marker 1 and ``b``
copies of marker 2 at random places, and the label says which marker is more frequent (``a != b``,
so a random guess scores 0.5). A model must count over every segment: the global branches of the
hierarchy carry it.

What it does not show: quality on a user's data, or at the lengths and training budgets real runs
use. It is a check that dropping the biases and the LayerNorm gains does not cost learning on a
task of this kind, not a benchmark of the model.

    python benchmarks/bench_lean_quality.py --preset small --length 256 --seeds 0 1 2       # CPU
    python benchmarks/bench_lean_quality.py --device cuda --preset large --length 2048 --cuda-graphs \
        --samples 2400 --seeds 0 1 --out benchmarks/results/lean_quality_gpu.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

VOCAB = 64


def task(samples: int, length: int, seed: int, most: int) -> dict[str, Any]:
    """``samples`` sequences with marker counts a != b in [0, most] placed at random positions; y = a > b."""
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randint(3, VOCAB, (samples, length), generator=g)
    a = torch.randint(0, most + 1, (samples,), generator=g)
    b = (a + torch.randint(1, most + 1, (samples,), generator=g)) % (most + 1)  # never equal to a
    for i in range(samples):
        places = torch.randperm(length, generator=g)[: int(a[i] + b[i])]
        x[i, places[: int(a[i])]] = 1
        x[i, places[int(a[i]) :]] = 2
    return {"x": x, "y": (a > b).long()}


def one_run(lean: bool, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """Train one form of the preset with ``seed``; return its losses and accuracy."""
    import torch

    from seek.models import SeekConfig, SeekTransformer
    from seek.training import Trainer, TrainerConfig

    torch.manual_seed(seed)
    overrides: dict[str, Any] = {"vocab_size": VOCAB, "num_outputs": 2, "dropout": 0.0}
    # both set explicitly: the GPU presets are lean since the fourth session, tiny is not
    overrides.update(linear_bias=not lean, norm_affine=not lean)
    model = SeekTransformer(SeekConfig.preset(args.preset, full_attention_below=0, **overrides))
    train = task(args.samples, args.length, 1000 + seed, args.most)
    val = task(args.val_samples, args.length, 2000 + seed, args.most)
    gpu = args.device.startswith("cuda")
    config = TrainerConfig(
        epochs=args.epochs,
        batch_size=args.batch,
        lr=args.lr,
        seed=seed,
        precision="bf16" if gpu else "fp32",
        param_dtype="bf16" if gpu else "fp32",
        cuda_graphs=args.cuda_graphs,
        early_stopping_patience=None,
        restore_best=False,
    )
    started = time.perf_counter()
    result = Trainer(model, config, device=args.device, progress=False).fit(train, val)
    last = result.history[-1]
    return {
        "lean": lean,
        "seed": seed,
        "train_loss": round(last["train_loss"], 4),
        "val_loss": round(last["val_loss"], 4),
        "val_accuracy": round(last["val_accuracy"], 4),
        "curve": [round(row["val_loss"], 4) for row in result.history],
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--samples", type=int, default=1536)
    parser.add_argument("--val-samples", type=int, default=512)
    parser.add_argument("--most", type=int, default=12, help="largest marker count")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cuda-graphs", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    import torch

    runs = []
    for seed in args.seeds:
        for lean in (False, True):  # interleaved: one seed's pair runs back to back
            runs.append(one_run(lean, seed, args))
            print(json.dumps(runs[-1]), flush=True)
    summary: dict[str, Any] = {}
    for key in ("train_loss", "val_loss", "val_accuracy"):
        pairs = [(d[key], n[key]) for d, n in zip(runs[0::2], runs[1::2], strict=True)]
        summary[key] = {
            "default": round(statistics.mean(p[0] for p in pairs), 4),
            "lean": round(statistics.mean(p[1] for p in pairs), 4),
            "lean_minus_default": round(statistics.mean(p[1] - p[0] for p in pairs), 4),
        }
    report = {
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "torch": torch.__version__,
        "machine": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else platform.processor(),
        "date": time.strftime("%Y-%m-%d"),
        "summary": summary,
        "runs": runs,
    }
    print(json.dumps(summary, indent=1))
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
