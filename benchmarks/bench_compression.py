"""Compression side by side: every variant of one app model measured in one process, same held-out data.

For each app model (quickstart-digits; the finance sequence model with ``--app finance``) the script
trains the original run, makes each variant with ``seek.compression.chain.compress`` (a sealed run
folder per variant, loaded back through ``load_artifact``), then measures all of them interleaved,
``--rounds`` times, with the same threads, and reports the median of each figure over the rounds.

    OMP_NUM_THREADS=2 python benchmarks/bench_compression.py --app digits --threads 2
    OMP_NUM_THREADS=2 python benchmarks/bench_compression.py --app finance --threads 2

Also ``--synthetic``: INT8 on Seek's ``small`` preset at length 256 (where Linear layers dominate) and
on a 3D-convolution net (which dynamic INT8 does not touch), for the guide's -75% / 4x claim.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

VARIANTS: list[tuple[str, str | None, dict[str, Any]]] = [
    ("fp32 torch", None, {}),
    ("INT8 torch (torch.ao)", "quantize", {}),
    ("INT8 torch (torchao)", "quantize", {"backend": "torchao"}),
    ("ONNX fp32 (onnxruntime)", "onnx", {}),
    ("ONNX INT8 dynamic", "onnx,quantize", {}),
    ("ONNX INT8 dynamic reduce_range", "onnx,quantize", {"reduce_range": True}),
    ("ONNX INT8 QDQ", "onnx,quantize", {"onnx_quant": "qdq"}),
    ("pruned 20% + fine-tune", "prune", {}),
    ("distilled ~1/10", "distill", {}),
]


def digits_source(work: Path, seed: int) -> tuple[Path, Any]:
    """Train quickstart-digits with its default config; return the run folder and no data override."""
    from seek.apps.digits import DigitsApp
    from seek.config import resolve_config
    from seek.runner import execute

    app = DigitsApp()
    out = work / "digits"
    execute(app, resolve_config(app.Config), out=out, device="cpu", seed=seed, show_progress=False)
    return out, None


def finance_source(work: Path, seed: int) -> tuple[Path, Any]:
    """Run finance-fraud; its sequence model comes back through load_artifact, its held-out set is built here."""
    from bench_compression_finance import finance_run

    return finance_run(work, seed)


def build_variants(source: Path, data: Any, work: Path, threads: int, find_app: Any) -> list[tuple[str, Path | None]]:
    """One compressed run folder per variant (None for the original)."""
    from seek.compression.chain import compress
    from seek.compression.options import CompressOptions

    made: list[tuple[str, Path | None]] = []
    for name, methods, options in VARIANTS:
        if methods is None:
            made.append((name, None))
            continue
        out = work / name.replace(" ", "_").replace("/", "-").replace("(", "").replace(")", "").replace("~", "")
        started = time.perf_counter()
        compress(source, methods, CompressOptions(repeats=5, threads=threads, **options), find_app, out=out, data=data)
        print(f"made {name} in {time.perf_counter() - started:.1f} s", flush=True)
        made.append((name, out))
    return made


def measure_all(source: Path, made: list[tuple[str, Path | None]], data: Any, threads: int, rounds: int, repeats: int):
    """Every variant measured ``rounds`` times, interleaved; medians per figure."""
    from seek.artifacts import artifacts
    from seek.compression.architecture import count_parameters
    from seek.compression.chain import onnx_parameters
    from seek.compression.measure import measure
    from seek.compression.runtime import load_model
    from seek.runs import load_run

    role = data.role
    loaded = []
    for name, folder in made:
        run = load_run(folder or source)
        art = artifacts(run)[role]
        model = load_model(run, role, threads=threads)
        files = [run.file(f) for f in art.files]
        params = onnx_parameters(files[0]) if art.kind == "onnx" else count_parameters(model)
        runtime = "onnxruntime" if art.kind == "onnx" else "torch"
        loaded.append((name, runtime, model, files, params))
    per: dict[str, list[Any]] = {name: [] for name, *_ in loaded}
    for _ in range(rounds):
        for name, runtime, model, files, params in loaded:
            per[name].append(measure(name, runtime, model, files, params, data, repeats, threads))
    rows = []
    for name, ms in per.items():
        first = ms[0]
        row = {
            "name": name,
            "runtime": first.runtime,
            "size_bytes": first.size_bytes,
            "parameters": first.parameters,
            "quality": first.quality,
        }
        for key in ("p50_b1_ms", "p99_b1_ms", "p50_b32_ms", "p99_b32_ms", "throughput"):
            row[key] = statistics.median(getattr(m, key) for m in ms)
        rows.append(row)
    return rows


def table(rows: list[dict[str, Any]], primary: str) -> str:
    """Markdown table with ratios against the first row."""
    base = rows[0]
    out = [
        f"| model | size KiB | size vs fp32 | parameters | p50 / p99 b1 ms | p50 / p99 b32 ms | samples/s b32 "
        f"| speed-up b1 / b32 | {primary} | vs fp32 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        q, bq = r["quality"][primary], base["quality"][primary]
        out.append(
            f"| {r['name']} | {r['size_bytes'] / 1024:,.1f} | {r['size_bytes'] / base['size_bytes']:.2f}x "
            f"| {r['parameters']:,} | {r['p50_b1_ms']:.3f} / {r['p99_b1_ms']:.3f} "
            f"| {r['p50_b32_ms']:.3f} / {r['p99_b32_ms']:.3f} | {r['throughput']:,.0f} "
            f"| {base['p50_b1_ms'] / r['p50_b1_ms']:.2f}x / {base['p50_b32_ms'] / r['p50_b32_ms']:.2f}x "
            f"| {q:.4f} | {q - bq:+.4f} |"
        )
    return "\n".join(out)


def synthetic(threads: int, repeats: int) -> list[dict[str, Any]]:
    """INT8 where Linear layers dominate (Seek small, length 256) and where they do not (3D convolutions)."""
    import torch
    from safetensors.torch import save

    from seek.compression.architecture import Int8Linear
    from seek.compression.measure import latencies_ms, percentile
    from seek.compression.quantize import quantize_dynamic_int8
    from seek.models import SeekConfig, SeekTransformer

    torch.set_num_threads(threads)

    def size(model: Any) -> int:
        state = {k: v.contiguous() for k, v in model.state_dict().items() if isinstance(v, torch.Tensor)}
        return len(save(state))

    class Conv3dNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = torch.nn.Sequential(
                torch.nn.Conv3d(1, 16, 3, padding=1), torch.nn.SiLU(), torch.nn.Conv3d(16, 32, 3, padding=1),
                torch.nn.SiLU(), torch.nn.AdaptiveAvgPool3d(1), torch.nn.Flatten(), torch.nn.Linear(32, 2),
            )  # fmt: skip

        def forward(self, x: Any, mask: Any = None) -> Any:
            return self.body(x)

    torch.manual_seed(0)
    cases = [
        (
            "Seek small, dense input, length 256",
            SeekTransformer(SeekConfig.preset("small", input_type="dense", input_dim=32, dropout=0.0)).eval(),
            torch.rand(64, 256, 32),
        ),
        ("3D CNN (2 Conv3d + Linear), 32^3 volume", Conv3dNet().eval(), torch.rand(8, 1, 32, 32, 32)),
    ]
    rows = []
    for name, model, x in cases:
        quantized, backend = quantize_dynamic_int8(model)
        n_int8 = sum(isinstance(m, Int8Linear) for m in quantized.modules())
        row: dict[str, Any] = {"name": name, "backend": backend, "int8_layers": n_int8,
                               "left_float": getattr(quantized, "int8_skipped", [])}  # fmt: skip
        for label, m in (("fp32", model), ("int8", quantized)):
            for b in (1, 8):
                t = latencies_ms(m, x, None, b, max(10, repeats // 10))
                row[f"{label}_b{b}_p50_ms"] = percentile(t, 50)
            row[f"{label}_bytes"] = size(m)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--app", choices=["digits", "finance"], default="digits")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--synthetic", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(args.threads)
    meta = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared with other agents)",
        "threads": args.threads,
        "command": " ".join(["python", *sys.argv]),
        "torch": torch.__version__,
    }
    if args.synthetic:
        rows = synthetic(args.threads, args.repeats)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "compression_synthetic.json").write_text(json.dumps({**meta, "rows": rows}, indent=2))
        return
    from seek.plugins import get_manager

    manager = get_manager()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        source, data = (digits_source if args.app == "digits" else finance_source)(work, args.seed)
        print(f"original trained in {time.perf_counter() - started:.1f} s", flush=True)
        if data is None:
            from seek.runs import load_run

            data = manager.app(load_run(source).read_json("run.json")["app"]).compression_data(
                load_run(source), "classifier"
            )
        made = build_variants(source, data, work, args.threads, manager.app)
        rows = measure_all(source, made, data, args.threads, args.rounds, args.repeats)
        notes = {}
        for name, folder in made:
            if folder is not None:
                notes[name] = (folder / "report.md").read_text().split("## Stages", 1)[-1].split("## Configuration")[0]
    md = table(rows, data.primary)
    print(md)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"compression_{args.app}.json").write_text(
        json.dumps({**meta, "primary": data.primary, "rows": rows, "stages": notes}, indent=2)
    )
    (RESULTS / f"compression_{args.app}.md").write_text(
        f"# Compression, {args.app}\n\n`{meta['command']}` — {meta['date']}, {meta['machine']}, "
        f"{args.threads} threads, median of {args.rounds} interleaved rounds\n\n{md}\n"
    )


if __name__ == "__main__":
    main()
