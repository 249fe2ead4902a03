"""Length scaling: forward+backward time and peak memory of Seek (hierarchical) vs full attention.

Both models have the same width, depth, adapter, feed-forward and head (``attention='full'`` swaps
the Seek block for a plain pre-norm full-attention block). Every (model, length) pair runs in its
own fresh subprocess, ours and the baseline interleaved at each length, so one run gives both.

Peak memory: on CPU, the worker reads its resident set size (psutil) after building the model and
the input, runs the steps, then reads the kernel's high-water mark ``ru_maxrss``; the difference is
the extra memory the steps needed (activations, gradients, attention workspace). A fresh process per
configuration keeps one run's high-water mark from hiding the next. On CUDA it is
``torch.cuda.max_memory_allocated()`` minus the allocation before the first step.

    python benchmarks/bench_length_scaling.py                       # CPU, small preset, batch 1
    python benchmarks/bench_length_scaling.py --device cuda --preset large --precision bf16 \
        --out benchmarks/results/length_scaling_gpu.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

VOCAB = 1000


def worker(args: argparse.Namespace) -> dict:
    """Measure one (attention, length) configuration in this process; return the figures."""
    import psutil
    import torch

    from seek.models import SeekConfig, SeekTransformer

    torch.manual_seed(0)
    device = torch.device(args.device)
    cfg = SeekConfig.preset(
        args.preset,
        vocab_size=VOCAB,
        head="classification",
        num_outputs=2,
        dropout=args.dropout,
        attention=args.attention,
        max_len=max(args.length, 16),
    )
    model = SeekTransformer(cfg).to(device).train()
    x = torch.randint(0, VOCAB, (args.batch, args.length), device=device)
    y = torch.randint(0, 2, (args.batch,), device=device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.precision == "bf16")

    def step() -> None:
        with autocast:
            loss = torch.nn.functional.cross_entropy(model(x).float(), y)
        loss.backward()
        model.zero_grad(set_to_none=True)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = psutil.Process().memory_info().rss
        maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    times = []
    for i in range(args.warmup + args.repeats):
        sync()
        start = time.perf_counter()
        step()
        sync()
        if i >= args.warmup:
            times.append(time.perf_counter() - start)

    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated() - base
        note = ""
    else:
        maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        peak = maxrss_after - base
        # If the steps never raised the high-water mark set before them (e.g. by imports), the
        # delta is only an upper bound; say so rather than print a wrong figure silently.
        note = f"{args.attention} {args.length}: steps stayed under an earlier high-water mark" if maxrss_after <= maxrss_before else ""
    return {
        "attention": args.attention,
        "length": args.length,
        "time_s": statistics.median(times),
        "times_s": times,
        "peak_bytes": peak,
        "params": model.num_parameters(),
        "flops_fwd": model.flops(args.length, args.batch),
        "threads": torch.get_num_threads(),
        "note": note,
    }


def run_one(args: argparse.Namespace, attention: str, length: int) -> dict:
    """Run one configuration in a fresh subprocess; return its figures or why it has none."""
    cmd = [
        sys.executable, __file__, "--worker", "--attention", attention, "--length", str(length),
        "--device", args.device, "--preset", args.preset, "--batch", str(args.batch),
        "--repeats", str(args.repeats), "--warmup", str(args.warmup), "--precision", args.precision,
        "--dropout", str(args.dropout),
    ]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"attention": attention, "length": length, "error": f"not finished within {args.timeout:.0f} s"}
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        if "out of memory" in proc.stderr.lower() or proc.returncode == -9:
            tail = "out of memory"
        return {"attention": attention, "length": length, "error": tail[:120]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine(device: str) -> str:
    """Describe the CPU (lscpu model name, cores) or the GPU."""
    import os

    import torch

    if device == "cuda":
        return f"{torch.cuda.get_device_name(0)} (1 GPU), torch {torch.__version__}, CUDA {torch.version.cuda}"
    name = platform.processor() or "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        name = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        pass
    return f"{name}, {os.cpu_count()} cores, torch {torch.__version__} (CPU)"


def fmt_time(r: dict) -> str:
    return f"{r['time_s']:.3f}" if "time_s" in r else f"— ({r['error']})"


def fmt_mem(r: dict) -> str:
    return f"{r['peak_bytes'] / 2**20:,.0f}" if "peak_bytes" in r else "—"


def ratio(a: dict, b: dict, key: str) -> str:
    return f"{b[key] / a[key]:.2f}x" if key in a and key in b and a[key] > 0 else "—"


def growth(rows: list[dict], i: int, key: str) -> str:
    """How much ``key`` grew from the previous length (2.0x = linear when lengths double)."""
    if i == 0 or key not in rows[i] or key not in rows[i - 1] or rows[i - 1][key] <= 0:
        return "—"
    return f"{rows[i][key] / rows[i - 1][key]:.2f}x"


def report(args: argparse.Namespace, ours: list[dict], full: list[dict], command: str, elapsed: float) -> str:
    """Render the results as Markdown."""
    lines = [
        "# Length scaling: Seek hierarchical attention vs full attention",
        "",
        f"- Command: `{command}`",
        f"- Machine: {machine(args.device)}",
        f"- Date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} (run took {elapsed / 60:.1f} min)",
        f"- Model: preset `{args.preset}` ({ours[0].get('params', 0):,} parameters for ours, "
        f"{next((r['params'] for r in full if 'params' in r), 0):,} for the baseline), token input "
        f"(vocab {VOCAB}), classification head, batch {args.batch}, precision {args.precision}, dropout {args.dropout}",
        f"- Step: forward + cross-entropy + backward; time is the median of {args.repeats} steps after "
        f"{args.warmup} warm-up step(s)",
        "",
        "| tokens | ours time (s) | full time (s) | time ratio full/ours | ours peak (MiB) | full peak (MiB) "
        "| memory ratio full/ours | ours time growth | full time growth | ours GFLOP fwd | full GFLOP fwd |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, (a, b) in enumerate(zip(ours, full, strict=True)):
        lines.append(
            f"| {a['length']:,} | {fmt_time(a)} | {fmt_time(b)} | {ratio(a, b, 'time_s')} | {fmt_mem(a)} | "
            f"{fmt_mem(b)} | {ratio(a, b, 'peak_bytes')} | {growth(ours, i, 'time_s')} | {growth(full, i, 'time_s')} "
            f"| {a['flops_fwd'] / 1e9:.1f} | "
            + (f"{b['flops_fwd'] / 1e9:.1f} |" if "flops_fwd" in b else "— |")
        )
    notes = sorted({r["note"] for r in ours + full if r.get("note")})
    lines += ["", "Growth columns compare each row with the previous one: lengths double, so 2.0x is linear "
              "and 4.0x quadratic. GFLOP columns are `model.flops(length)` (forward, matmuls only)."]
    if notes:
        lines += ["", "Notes from the workers: " + "; ".join(notes)]
    return "\n".join(lines) + "\n"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--preset", default="small")
    p.add_argument("--lengths", default="1024,2048,4096,8192,16384")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--timeout", type=float, default=900.0, help="seconds allowed for one configuration")
    p.add_argument("--out", default="benchmarks/results/length_scaling.md")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--attention", default="hierarchical", help=argparse.SUPPRESS)
    p.add_argument("--length", type=int, default=1024, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return
    from seek.io import atomic_write_text

    command = "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    lengths = [int(n) for n in args.lengths.split(",")]
    ours: list[dict] = []
    full: list[dict] = []
    start = time.perf_counter()
    full_failed = False
    for length in lengths:
        ours.append(run_one(args, "hierarchical", length))
        if full_failed:  # a longer run cannot fit where a shorter one did not
            full.append({"attention": "full", "length": length, "error": "skipped: shorter length failed"})
        else:
            full.append(run_one(args, "full", length))
            full_failed = "error" in full[-1]
        print(f"{length:>6}: ours {fmt_time(ours[-1])} s {fmt_mem(ours[-1])} MiB | "
              f"full {fmt_time(full[-1])} s {fmt_mem(full[-1])} MiB", flush=True)  # fmt: skip
    text = report(args, ours, full, command, time.perf_counter() - start)
    atomic_write_text(args.out, text)
    atomic_write_text(Path(args.out).with_suffix(".json"), json.dumps({"ours": ours, "full": full}, indent=2) + "\n")
    print(text)


if __name__ == "__main__":
    main()
