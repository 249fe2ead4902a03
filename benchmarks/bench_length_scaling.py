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
import os
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

    if args.device == "cpu" and args.mem_limit_gb > 0:
        # A clean allocation error instead of the kernel's OOM killer on a machine shared with others.
        limit = int(args.mem_limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))

    from seek.models import SeekConfig, SeekTransformer

    if args.threads > 0:
        torch.set_num_threads(args.threads)
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
        **({} if args.full_attention_below is None else {"full_attention_below": args.full_attention_below}),
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

    times, cpu_times = [], []
    for i in range(args.warmup + args.repeats):
        sync()
        start, cpu_start = time.perf_counter(), time.process_time()
        step()
        sync()
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)

    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated() - base
        note = ""
    else:
        maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        peak = maxrss_after - base
        # If the steps never raised the high-water mark set before them (e.g. by imports), the
        # delta is only an upper bound; say so rather than print a wrong figure silently.
        note = ""
        if maxrss_after <= maxrss_before:
            note = f"{args.attention} {args.length}: steps stayed under an earlier high-water mark"
    return {
        "attention": args.attention,
        "length": args.length,
        "time_s": statistics.median(times),
        "times_s": times,
        "cpu_s": statistics.median(cpu_times),
        "dropout": args.dropout,
        "peak_bytes": peak,
        "params": model.num_parameters(),
        "flops_fwd": model.flops(args.length, args.batch),
        "threads": torch.get_num_threads(),
        "note": note,
    }


def run_one(args: argparse.Namespace, attention: str, length: int, dropout: float) -> dict:
    """Run one configuration in a fresh subprocess; return its figures or why it has none."""
    cmd = [
        sys.executable, __file__, "--worker", "--attention", attention, "--length", str(length),
        "--device", args.device, "--preset", args.preset, "--batch", str(args.batch),
        "--repeats", str(args.repeats), "--warmup", str(args.warmup), "--precision", args.precision,
        "--dropout", str(dropout), "--mem-limit-gb", str(args.mem_limit_gb), "--threads", str(args.threads),
    ]  # fmt: skip
    if args.full_attention_below is not None:
        cmd += ["--full-attention-below", str(args.full_attention_below)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"attention": attention, "length": length, "error": f"not finished within {args.timeout:.0f} s"}
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        if "can't allocate memory" in proc.stderr or "out of memory" in proc.stderr.lower():
            tail = "out of memory" + (f" (limit {args.mem_limit_gb:g} GiB)" if args.device == "cpu" else "")
        elif proc.returncode == -9:
            tail = "killed (out of memory?)"
        return {"attention": attention, "length": length, "error": tail[:120]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine(device: str) -> str:
    """Describe the CPU (lscpu model name, cores) or the GPU."""
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


def table(ours: list[dict], full: list[dict]) -> list[str]:
    """Markdown table rows for one setting."""
    lines = [
        "| tokens | ours time (s) | full time (s) | time ratio full/ours | ours CPU-s | full CPU-s "
        "| ours peak (MiB) | full peak (MiB) | memory ratio full/ours | ours time growth | full time growth "
        "| ours GFLOP fwd | full GFLOP fwd |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, (a, b) in enumerate(zip(ours, full, strict=True)):
        cpu = [f"{r['cpu_s']:.2f}" if "cpu_s" in r else "—" for r in (a, b)]
        gflop = [f"{r['flops_fwd'] / 1e9:.1f}" if "flops_fwd" in r else "—" for r in (a, b)]
        lines.append(
            f"| {a['length']:,} | {fmt_time(a)} | {fmt_time(b)} | {ratio(a, b, 'time_s')} | {cpu[0]} | {cpu[1]} "
            f"| {fmt_mem(a)} | {fmt_mem(b)} | {ratio(a, b, 'peak_bytes')} | {growth(ours, i, 'time_s')} "
            f"| {growth(full, i, 'time_s')} | {gflop[0]} | {gflop[1]} |"
        )
    return lines


def report(
    args: argparse.Namespace,
    results: dict[float, tuple[list[dict], list[dict]]],
    command: str,
    elapsed: float,
    load: tuple[float, float],
) -> str:
    """Render the results as Markdown, one table per dropout setting."""
    threads = next((r["threads"] for o, f in results.values() for r in o + f if "threads" in r), "?")
    params = {r["attention"]: r["params"] for ours, full in results.values() for r in ours + full if "params" in r}
    lines = [
        "# Length scaling: Seek hierarchical attention vs full attention",
        "",
        f"- Command: `{command}`",
        f"- Machine: {machine(args.device)}",
        f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} (run took {elapsed / 60:.1f} min)",
        f"- Model: preset `{args.preset}`, same width and depth for both ({params.get('hierarchical', 0):,} "
        f"parameters for ours, {params.get('full', 0):,} for the full-attention baseline), token input "
        f"(vocab {VOCAB}), classification head, batch {args.batch}, precision {args.precision}, "
        f"torch threads per worker {threads}",
        f"- Step: forward + cross-entropy + backward; time is the median of {args.repeats} steps after "
        f"{args.warmup} warm-up step(s), each configuration in a fresh process",
    ]  # fmt: skip
    for dropout, (ours, full) in results.items():
        lines += ["", f"## dropout {dropout:g}", "", *table(ours, full)]
    notes = sorted({r["note"] for ours, full in results.values() for r in ours + full if r.get("note")})
    lines += [
        "",
        "Peak memory: "
        + (
            "`torch.cuda.max_memory_allocated()` during the steps minus what was allocated before them."
            if args.device == "cuda"
            else "each configuration runs in a fresh subprocess; peak = the kernel's high-water mark `ru_maxrss` "
            "after the steps minus the resident set size (psutil) just before them, i.e. the extra memory "
            "the steps needed (activations, gradients, attention workspace). Each worker is capped with "
            f"RLIMIT_DATA = {args.mem_limit_gb:g} GiB so a run that does not fit fails cleanly instead of "
            "waking the OOM killer on a shared machine."
        ),
        "",
        f"Load average (1 min) at start {load[0]:.1f}, at end {load[1]:.1f}: "
        + (
            "other jobs were sharing the cores, so wall times are noisy; CPU-s is the steadier figure."
            if args.device == "cpu"
            else "for reference."
        ),
        "",
        "Growth columns compare each row with the previous one: lengths double, so 2.0x is linear and 4.0x "
        "quadratic. CPU-s is process CPU time per step (less sensitive than wall time to other jobs on the "
        "machine). GFLOP columns are `model.flops(length)` (forward, matmuls only).",
    ]
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
    p.add_argument("--dropouts", default="0.1,0.0", help="one table per value; 0.1 is the presets' default")
    p.add_argument("--mem-limit-gb", type=float, default=8.0, help="CPU only: per-configuration memory cap")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds allowed for one configuration")
    p.add_argument("--threads", type=int, default=0, help="CPU threads per worker (0 = torch's default)")
    p.add_argument("--out", default="benchmarks/results/length_scaling.md")
    p.add_argument(
        "--full-attention-below",
        type=int,
        default=None,
        help="override the preset's switch to full attention (0 = hierarchy at every length; the GPU presets use 8192)",
    )
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--attention", default="hierarchical", help=argparse.SUPPRESS)
    p.add_argument("--length", type=int, default=1024, help=argparse.SUPPRESS)
    p.add_argument("--dropout", type=float, default=0.0, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return
    from seek.io import atomic_write_text

    command = "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    lengths = [int(n) for n in args.lengths.split(",")]
    results: dict[float, tuple[list[dict], list[dict]]] = {}
    start, load_start = time.perf_counter(), os.getloadavg()[0]
    for dropout in (float(d) for d in args.dropouts.split(",")):
        ours: list[dict] = []
        full: list[dict] = []
        full_failed = False
        for length in lengths:
            ours.append(run_one(args, "hierarchical", length, dropout))
            if full_failed:  # a longer run cannot fit where a shorter one did not
                full.append({"attention": "full", "length": length, "error": "skipped: a shorter length failed"})
            else:
                full.append(run_one(args, "full", length, dropout))
                full_failed = "error" in full[-1]
            print(f"dropout {dropout:g} {length:>6}: ours {fmt_time(ours[-1])} s {fmt_mem(ours[-1])} MiB | "
                  f"full {fmt_time(full[-1])} s {fmt_mem(full[-1])} MiB", flush=True)  # fmt: skip
        results[dropout] = (ours, full)
    text = report(args, results, command, time.perf_counter() - start, (load_start, os.getloadavg()[0]))
    atomic_write_text(args.out, text)
    raw = {f"dropout={d:g}": {"ours": o, "full": f} for d, (o, f) in results.items()}
    atomic_write_text(Path(args.out).with_suffix(".json"), json.dumps(raw, indent=2) + "\n")
    print(text)


if __name__ == "__main__":
    main()
