"""GPU figures for the trainer, in one invocation per machine.

(a) step time (forward + backward + AdamW step, through seek.training.Trainer) of the ``small`` and
    ``large`` (1024 hidden / 16 heads) Seek presets at sequence 2048, fp32 against bf16 autocast, on GPU 0,
    and the same bf16 step in a hand-written loop (what the Trainer's bookkeeping costs);
(b) DDP throughput (samples/s, per-GPU batch fixed) on 1, 2, 4 ... GPUs with nccl, each launched with
    torchrun, and scaling efficiency = throughput_k / (k * throughput_1), with no hook, the bf16 hook
    and PowerSGD; the gradient bytes each rank sends per step are computed from the parameter shapes.

    PYTHONPATH=core python benchmarks/gpu_bench.py --out gpu_bench.json          # on the GPU machine
    PYTHONPATH=core python benchmarks/gpu_bench.py --smoke --out /tmp/smoke.json  # CPU, tiny, gloo, 2 procs
    python benchmarks/gpu_bench.py --layouts --ddp-preset xl --out layouts.json   # issue 19: DDP/FSDP/FSDP+TP, 1-8 GPUs

(c) with ``--efficiency``, issue 17's figures instead (``gpu_efficiency.py``: MFU per preset, eager vs
    compile, ours vs the plain-PyTorch peer, small fp32 vs bf16, length scaling, kernel profiles):

    python benchmarks/gpu_bench.py --efficiency --old-core build/old_core --out gpu_efficiency.json
    python benchmarks/gpu_bench.py --efficiency --smoke --out /tmp/eff.json      # CPU, tiny sizes

Needs torch and pydantic (seek.models' config); seek's other dependencies are not imported.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import types
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CORE = Path(__file__).resolve().parents[1] / "core"


def _import_seek() -> None:
    """Make ``seek.models`` and ``seek.training`` importable on a machine that has only torch and pydantic.

    ``--core PATH`` imports another copy of the core instead (the code before a change, for a profile).
    """
    core = Path(sys.argv[sys.argv.index("--core") + 1]).resolve() if "--core" in sys.argv else CORE
    sys.path.insert(0, str(core))
    try:
        import seek  # noqa: F401
    except ImportError:
        # seek/__init__ pulls in pluggy and the App contract; the trainer and the model need neither
        package = types.ModuleType("seek")
        package.__path__ = [str(core / "seek")]
        sys.modules["seek"] = package


_import_seek()

# After _import_seek: the device machine may lack the core's light dependencies, see its docstring.
import torch  # noqa: E402

from seek.models import PRESETS, SeekConfig, SeekTransformer, estimate_flops  # noqa: E402
from seek.training import Callback, Trainer, TrainerConfig, gradient_bytes_per_step  # noqa: E402

VOCAB = 32_000
# NVLink multicast stays off on shared GPU hosts (it can take the host's GPUs down); kept for every launch.
NO_MULTICAST = {"NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1", "NVSHMEM_DISABLE_NVLS": "1"}


def sig(value: float) -> float:
    """``value`` rounded to 3 significant digits."""
    return float(f"{value:.3g}")


class StepTimer(Callback):
    """Wall-clock time at the end of every optimiser step (after a device sync)."""

    def __init__(self) -> None:
        self.stamps: list[float] = []

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        if trainer.device.type == "cuda":
            torch.cuda.synchronize(trainer.device)
        self.stamps.append(time.perf_counter())

    def step_seconds(self, warmup: int) -> float:
        """Median step time once ``warmup`` steps are done."""
        gaps = [b - a for a, b in zip(self.stamps[warmup:], self.stamps[warmup + 1 :], strict=False)]
        return statistics.median(gaps)


def build_model(preset: str, seq: int) -> SeekTransformer:
    """A token-input classification Seek model of ``preset`` for sequences of ``seq``."""
    torch.manual_seed(0)
    config = SeekConfig.preset(
        preset, input_type="tokens", vocab_size=VOCAB, head="classification", num_outputs=2, max_len=max(seq, 64)
    )
    return SeekTransformer(config)


def token_data(samples: int, seq: int) -> dict[str, torch.Tensor]:
    """Random token sequences with random binary labels."""
    generator = torch.Generator().manual_seed(1)
    return {
        "x": torch.randint(0, VOCAB, (samples, seq), generator=generator),
        "y": torch.randint(0, 2, (samples,), generator=generator),
    }


def time_steps(
    model: SeekTransformer,
    precision: str,
    device: str,
    batch: int,
    seq: int,
    warmup: int,
    steps: int,
    hook: str | None = None,
    layout: str = "ddp",
    tp_size: int = 1,
) -> float:
    """Median seconds per optimiser step of one epoch of ``warmup + steps + 1`` steps through the Trainer.

    ``batch`` is per model replica; under torchrun the global batch is ``batch * WORLD_SIZE / tp_size``.
    """
    timer = StepTimer()
    world = int(os.environ.get("WORLD_SIZE", "1")) // tp_size
    config = TrainerConfig(
        epochs=1,
        batch_size=batch * world,
        precision=precision,
        warmup_ratio=0.0,
        early_stopping_patience=None,
        grad_clip=1.0,
        grad_compression=hook,
        **({} if layout == "ddp" else {"distributed": layout, "tp_size": tp_size}),
    )
    trainer = Trainer(model, config, callbacks=[timer], device=device, progress=False)
    trainer.fit(token_data(batch * world * (warmup + steps + 1), seq))
    return timer.step_seconds(warmup)


def bare_loop_seconds(model: SeekTransformer, device: str, batch: int, seq: int, warmup: int, steps: int) -> float:
    """Median step time of a hand-written bf16 loop (the baseline for the Trainer's own overhead)."""
    model = model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01)
    data = token_data(batch * (warmup + steps + 1), seq)
    stamps = []
    for start in range(0, len(data["x"]), batch):
        x, y = data["x"][start : start + batch].to(device), data["y"][start : start + batch].to(device)
        with torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16):
            loss = torch.nn.functional.cross_entropy(model(x).float(), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.startswith("cuda"):
            torch.cuda.synchronize(device)
        stamps.append(time.perf_counter())
    gaps = [b - a for a, b in itertools.pairwise(stamps[warmup:])]
    return statistics.median(gaps)


def precision_table(args: argparse.Namespace, device: str) -> list[dict[str, Any]]:
    """(a) fp32 against bf16 autocast, per preset."""
    rows = []
    for preset in args.presets:
        row: dict[str, Any] = {"preset": preset, "seq": args.seq, "batch": args.batch}
        for precision in ("fp32", "bf16"):
            model = build_model(preset, args.seq)
            row["params_m"] = round(model.num_parameters() / 1e6, 1)
            flops = 3 * model.flops(args.seq, args.batch)  # forward + backward (about twice the forward)
            if device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats()
            seconds = time_steps(model, precision, device, args.batch, args.seq, args.warmup, args.steps)
            row[f"{precision}_ms"] = sig(1000 * seconds)
            row[f"{precision}_tflops"] = sig(flops / seconds / 1e12)
            if device.startswith("cuda"):
                row[f"{precision}_peak_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
            del model
            gc.collect()
            if device.startswith("cuda"):
                torch.cuda.empty_cache()
            print(f"  {preset} {precision}: {row[f'{precision}_ms']} ms/step", flush=True)
        row["speedup"] = sig(row["fp32_ms"] / row["bf16_ms"])
        bare = bare_loop_seconds(build_model(preset, args.seq), device, args.batch, args.seq, args.warmup, args.steps)
        row["bare_bf16_ms"] = sig(1000 * bare)
        row["trainer_overhead"] = sig(row["bf16_ms"] / row["bare_bf16_ms"])
        gc.collect()
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
        rows.append(row)
    return rows


def launch(k: int, hook: str | None, args: argparse.Namespace, layout: str = "ddp", tp: int = 1) -> dict[str, Any]:
    """Run one DDP measurement under torchrun with ``k`` processes and return rank 0's result."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(CORE), os.environ.get("PYTHONPATH", "")]),
            "SEEK_BENCH_HOOK": hook or "",
            "SEEK_BENCH_LAYOUT": layout,
            "SEEK_BENCH_TP": str(tp),
            **NO_MULTICAST,
        }
        if args.smoke:
            env["OMP_NUM_THREADS"] = "1"  # torchrun does this for k > 1 only; keep k = 1 comparable on a CPU
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            str(k),
            __file__,
            "--worker",
            str(result),
            "--ddp-preset",
            args.ddp_preset,
            "--seq",
            str(args.ddp_seq),
            "--batch",
            str(args.ddp_batch),
            "--warmup",
            str(args.warmup),
            "--steps",
            str(args.steps),
        ]
        if args.smoke:
            command.append("--smoke")
        started = time.perf_counter()
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=args.launch_timeout, check=False
        )
        if done.returncode != 0:
            raise SystemExit(
                f"torchrun with {k} processes and hook {hook} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
            )
        measured = json.loads(result.read_text())
        measured["launch_s"] = round(time.perf_counter() - started, 1)
        return measured


def worker(result: Path, args: argparse.Namespace) -> None:
    """Inside torchrun: time steps of ``--batch`` per replica at ``--seq``; rank 0 writes the result."""
    device = "cpu" if args.smoke else "cuda"
    precision = "fp32" if args.smoke else "bf16"
    model = build_model(args.ddp_preset, args.seq)
    hook = os.environ.get("SEEK_BENCH_HOOK") or None
    layout, tp = os.environ.get("SEEK_BENCH_LAYOUT", "ddp"), int(os.environ.get("SEEK_BENCH_TP", "1"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    seconds = time_steps(model, precision, device, args.batch, args.seq, args.warmup, args.steps, hook, layout, tp)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else 0.0
    if int(os.environ.get("RANK", "0")) == 0:
        flops = 3 * estimate_flops(model.config, args.seq, args.batch * world // tp)
        result.write_text(
            json.dumps(
                {
                    "gpus": world,
                    "hook": hook or "none",
                    "layout": layout if layout != "fsdp+tp" else f"fsdp+tp{tp}",
                    "step_ms": sig(1000 * seconds),
                    "samples_per_s": sig(world // tp * args.batch / seconds),
                    "peak_gb_rank0": round(peak, 2),
                    "mfu_790": round(flops / seconds / world / 790e12, 3) if device == "cuda" else 0.0,
                    "grad_mb_per_step": round(gradient_bytes_per_step(model, hook, 4) / 2**20, 2) if world > 1 else 0.0,
                }
            )
        )


def layout_table(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Issue 19: DDP, FSDP and FSDP+TP (tp 2/4/8) at 1, 2, 4, 8 processes; efficiency against 1-GPU DDP."""
    available = 2 if args.smoke else torch.cuda.device_count()
    rows, base = [], None
    for k in (k for k in (1, 2, 4, 8) if k <= available):
        layouts = [("ddp", 1), ("fsdp", 1)] + [("fsdp+tp", tp) for tp in (2, 4, 8) if tp <= k and k % tp == 0]
        for layout, tp in layouts:
            try:
                row = launch(k, None, args, layout, tp)
            except SystemExit as exc:  # out of memory for this layout: recorded, the table goes on
                row = {"gpus": k, "layout": f"{layout}{tp if tp > 1 else ''}", "error": str(exc)[-200:]}
            if "samples_per_s" in row:
                base = base or row["samples_per_s"]
                row["efficiency"] = round(row["samples_per_s"] / (k * base), 3)
            rows.append(row)
            print(f"  {k} x {row['layout']}: {row.get('samples_per_s', row.get('error'))}", flush=True)
    return rows


def ddp_table(args: argparse.Namespace) -> list[dict[str, Any]]:
    """(b) throughput on 1, 2, 4 ... GPUs, with and without compression hooks."""
    available = 2 if args.smoke else torch.cuda.device_count()
    counts = [k for k in (1, 2, 4, 8) if k <= available]
    hooks = [None, "fp16", "powersgd"] if args.smoke else [None, "bf16", "powersgd"]
    rows = []
    base = None
    for k in counts:
        for hook in hooks if k > 1 else [None]:
            row = launch(k, hook, args)
            base = base or row["samples_per_s"]
            row["efficiency"] = round(row["samples_per_s"] / (k * base), 3)
            rows.append(row)
            print(f"  {k} x {hook or 'no hook'}: {row['samples_per_s']} samples/s", flush=True)
    return rows


def bytes_table(presets: list[str]) -> list[dict[str, Any]]:
    """Gradient bytes each rank sends per optimiser step, per hook, from parameter shapes (meta tensors)."""
    rows = []
    for preset in presets:
        with torch.device("meta"):
            model = build_model(preset, 2048)
        plain = gradient_bytes_per_step(model, None)
        row = {"preset": preset, "params_m": round(model.num_parameters() / 1e6, 1), "fp32_mb": sig(plain / 2**20)}
        for hook in ("bf16", "powersgd"):
            sent = gradient_bytes_per_step(model, hook, 4)
            row[f"{hook}_mb"], row[f"{hook}_saving"] = sig(sent / 2**20), sig(plain / sent)
        rows.append(row)
    return rows


def markdown(report: dict[str, Any]) -> str:
    """The measured tables as Markdown (a table without rows is left out)."""
    lines = [f"GPU bench, {report['date']}, {report['machine']}"] if report.get("machine") else []
    if report["precision"]:
        header = (
            "| preset | params (M) | seq | batch | fp32 ms/step | bf16 ms/step | bf16 speed-up "
            "| fp32 TFLOP/s | bf16 TFLOP/s | bare bf16 loop ms/step | Trainer / bare |"
        )
        lines += ["", header, "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in report["precision"]:
            lines.append(
                f"| {r['preset']} | {r['params_m']} | {r['seq']} | {r['batch']} | {r['fp32_ms']} "
                f"| {r['bf16_ms']} | {r['speedup']}x | {r['fp32_tflops']} | {r['bf16_tflops']} "
                f"| {r['bare_bf16_ms']} | {r['trainer_overhead']}x |"
            )
    if report["ddp"]:
        title = (
            f"DDP ({report['ddp_preset']} preset, seq {report['ddp_seq']}, {report['ddp_batch']} per GPU, "
            f"{report['ddp_precision']}):"
        )
        lines += [
            "",
            title,
            "",
            "| GPUs | hook | samples/s | step ms | scaling efficiency | gradient MB sent per rank per step |",
            "|---|---|---|---|---|---|",
        ]
        for r in report["ddp"]:
            lines.append(
                f"| {r['gpus']} | {r['hook']} | {r['samples_per_s']} | {r['step_ms']} "
                f"| {r['efficiency']:.1%} | {r['grad_mb_per_step']} |"
            )
    title = "Gradient all-reduce payload per rank per optimiser step (from parameter shapes; PowerSGD rank 4):"
    lines += [
        "",
        title,
        "",
        "| preset | params (M) | fp32 MB | bf16 hook MB | saving | PowerSGD MB | saving |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["bytes"]:
        lines.append(
            f"| {r['preset']} | {r['params_m']} | {r['fp32_mb']} | {r['bf16_mb']} | {r['bf16_saving']}x "
            f"| {r['powersgd_mb']} | {r['powersgd_saving']}x |"
        )
    return "\n".join(lines)


def parse(argv: list[str]) -> argparse.Namespace:
    """Command-line options; --smoke shrinks every size to run on a CPU."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the JSON report here")
    parser.add_argument("--smoke", action="store_true", help="CPU, tiny sizes, gloo, 2 processes")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--presets", nargs="+", default=["small", "large"])
    parser.add_argument("--seq", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--ddp-preset", default="base")
    parser.add_argument("--ddp-seq", type=int, default=2048)
    parser.add_argument("--ddp-batch", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--launch-timeout", type=int, default=240)
    parser.add_argument("--bytes-only", action="store_true", help="print only the all-reduce volume table (CPU)")
    parser.add_argument(
        "--layouts", action="store_true", help="issue 19: DDP / FSDP / FSDP+TP table instead of (a)/(b)"
    )
    eff = parser.add_argument_group("--efficiency (issue 17)")
    eff.add_argument("--efficiency", action="store_true", help="run gpu_efficiency.py's sections instead of (a)/(b)")
    eff.add_argument("--eff-presets", nargs="*", default=["large", "xl", "base"])
    eff.add_argument("--dropout", type=float, default=0.0, help="dropout of ours and the peer in the preset table")
    eff.add_argument("--dropout-presets", nargs="*", default=[], help="presets measured again at dropout 0.1")
    eff.add_argument("--small-preset", default="small")
    eff.add_argument(
        "--lengths", type=lambda v: [int(n) for n in v.split(",")], default=[512, 1024, 2048, 4096, 8192, 16384]
    )
    eff.add_argument(
        "--length-settings", default="small:fp32:1,small:bf16:8,base:bf16:4", help="preset:precision:batch,..."
    )
    eff.add_argument("--length-steps", type=int, default=5)
    eff.add_argument("--profile-preset", default="large")
    eff.add_argument("--profile-variants", nargs="*", default=["fp32p", "bf16p", "graphs-bf16p"])
    eff.add_argument("--profile-dropout", type=float, default=0.0)
    eff.add_argument(
        "--variants",
        nargs="*",
        default=None,
        help="first preset's variants (kind-mode[-bf16p][-shipped][-loaded][-bN])",
    )
    eff.add_argument("--other-variants", nargs="*", default=None, help="the other presets' variants")
    eff.add_argument("--old-core", default="", help="core/ of the code before issue 17, profiled in a fresh process")
    eff.add_argument("--core", default="", help=argparse.SUPPRESS)
    eff.add_argument("--profile-worker", type=Path, help=argparse.SUPPRESS)
    eff.add_argument("--budget-s", type=float, default=560.0, help="skip what would start after this many seconds")
    eff.add_argument("--modes", nargs="*", default=["compile", "graphs"], help="compile modes besides eager")
    eff.add_argument("--repeats", type=int, default=2, help="interleaved tries of Trainer and bare loop (best kept)")
    eff.add_argument("--no-peer", action="store_true")
    eff.add_argument("--stat", choices=("best", "median"), default="best", help="of the repeated tries of a variant")
    eff.add_argument("--overhead-presets", nargs="*", default=[], help="Trainer / bare loop in alternating pairs")
    eff.add_argument("--overhead-dtypes", nargs="*", default=["bf16", "fp32"], help="parameter dtypes for it")
    eff.add_argument("--overhead-pairs", type=int, default=7)
    eff.add_argument("--null-overhead", action="store_true", help="the Trainer's host work per step, on a null model")
    eff.add_argument("--null-steps", type=int, default=200)
    eff.add_argument("--length-graphs", action="store_true", help="also time each length as one CUDA graph")
    eff.add_argument("--device", default="cuda")
    args = parser.parse_args(argv)
    args.started = time.perf_counter()
    args.deadline = args.started + args.budget_s
    args.length_settings = [
        dict(zip(("preset", "precision", "batch"), (p, q, int(b)), strict=True))
        for p, q, b in (item.split(":") for item in args.length_settings.split(",") if item)
    ]
    if args.efficiency and args.smoke:
        args.device, args.eff_presets, args.dropout_presets, args.small_preset = "cpu", ["tiny"], ["tiny"], "tiny"
        args.seq, args.batch, args.warmup, args.steps, args.lengths = 64, 2, 1, 2, [32, 64]
        args.length_settings = [{"preset": "tiny", "precision": "fp32", "batch": 1}]
        args.profile_preset, args.length_steps = "tiny", 2
        args.profile_variants = ["fp32p", "bf16p"]
    if args.smoke and args.worker is None:
        args.presets, args.seq, args.batch = ["tiny"], 64, 4
        args.ddp_preset, args.ddp_seq, args.ddp_batch = "tiny", 64, 4
        args.warmup, args.steps = 1, 3
    return args


def main(argv: list[str]) -> None:
    """Run (a) and (b), print the Markdown tables and write the JSON report."""
    args = parse(argv)
    if args.worker is not None:
        worker(args.worker, args)
        return
    if args.efficiency:
        efficiency(args)
        return
    if args.layouts:
        rows = layout_table(args)
        print(json.dumps(rows, indent=1))
        if args.out:
            from seek.io import atomic_write_json

            atomic_write_json(
                args.out, {"preset": args.ddp_preset, "seq": args.ddp_seq, "batch": args.ddp_batch, "rows": rows}
            )
        return
    if args.bytes_only:
        print(markdown({"precision": [], "ddp": [], "bytes": bytes_table(["small", "base", "large", "xl"])}))
        return
    if not args.smoke and not torch.cuda.is_available():
        raise SystemExit("gpu_bench: no CUDA device (use --smoke to check the script on a CPU)")
    os.environ.update(NO_MULTICAST)
    if args.smoke:
        torch.set_num_threads(1)
    started = time.perf_counter()
    device = "cpu" if args.smoke else "cuda:0"
    machine = f"{platform.node()}, " + (
        f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "CPU"
    )
    print(f"(a) step time, {device}", flush=True)
    precision = precision_table(args, device)
    print("(b) DDP throughput", flush=True)
    ddp = ddp_table(args)
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine,
        "torch": torch.__version__,
        "smoke": args.smoke,
        "precision": precision,
        "ddp": ddp,
        "ddp_preset": args.ddp_preset,
        "ddp_seq": args.ddp_seq,
        "ddp_batch": args.ddp_batch,
        "ddp_precision": "fp32" if args.smoke else "bf16",
        "bytes": bytes_table(sorted({*args.presets, args.ddp_preset}, key=list(PRESETS).index)),
    }
    report["total_s"] = round(time.perf_counter() - started, 1)
    print(markdown(report))
    print(f"total {report['total_s']} s")
    if args.out:
        from seek.io import atomic_write_json

        atomic_write_json(args.out, report)


def efficiency(args: argparse.Namespace) -> None:
    """Issue 17's sections (gpu_efficiency.py); ``--profile-worker`` profiles this process's core only."""
    import gpu_efficiency

    args.presets = args.eff_presets
    args.variants = args.variants if args.variants is not None else gpu_efficiency.LARGE_VARIANTS
    args.other_variants = args.other_variants if args.other_variants is not None else gpu_efficiency.OTHER_VARIANTS
    if args.smoke:  # eager only: compiling on a small CPU takes minutes
        eager = ["trainer-eager", "bare-eager", "trainer-eager-bf16p", "bare-eager-bf16p", "trainer-eager-shipped"]
        args.variants = args.other_variants = [*eager, "trainer-eager-bf16p-b4", "peer-eager"]
        args.modes = []
    if args.profile_worker is not None:
        result = gpu_efficiency.profile_step(args.profile_preset, args)
        args.profile_worker.write_text(json.dumps(result))
        return
    if args.out is None:
        raise SystemExit("gpu_bench --efficiency: give --out FILE.json")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("gpu_bench --efficiency: no CUDA device (use --smoke on a CPU)")
    if args.smoke:
        torch.set_num_threads(1)
    report = gpu_efficiency.run(args)
    text = gpu_efficiency.markdown(report)
    args.out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
