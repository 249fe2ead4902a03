"""GPU efficiency of the Seek transformer and Trainer (issue 17), run by ``gpu_bench.py --efficiency``.

Sections, each written to ``--out`` as soon as it is done (a later one may be skipped by the time budget):

- presets: base / large / xl at sequence 2048 through ``seek.training.Trainer`` (bf16, eager and
  ``compile=True``), the same model in a bare loop (the Trainer's overhead), and the plain-PyTorch peer
  (``peer_transformer.py``) eager and compiled; FLOPs of one step counted by ``FlopCounterMode`` for
  both models and our ``training_flops()`` checked against the count; MFU against 790 TFLOP/s.
- small: fp32 against bf16 through the Trainer, eager and compiled.
- lengths: forward + backward time 512..16k tokens, ours (switch off, and the preset default) vs full attention.
- profile: top CUDA kernels of one large bf16 step, this code and (``--old-core``) the code before issue 17.
"""

# ruff: noqa: E501 - the Markdown table rows and the worker command line read best unwrapped
from __future__ import annotations

import gc
import itertools
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import peer_transformer as peer
import torch

# Issue 17 measured MFU against ~790 TFLOP/s; kept for comparability. NVIDIA's H200 spec sheet gives
# 989 TFLOP/s dense bf16, so MFU against the spec sheet is these figures x 0.80.
PEAK = 790e12
VOCAB = 32_000


def sig(value: float) -> float:
    """``value`` rounded to 3 significant digits."""
    return float(f"{value:.3g}")


def sync(device: str) -> None:
    """Wait for the device."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def free(device: str) -> None:
    """Drop cached blocks between measurements."""
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def seek_model(preset: str, seq: int, dropout: float, device: str, **overrides: Any) -> Any:
    """A token-input classification Seek model of ``preset``, built on ``device``."""
    from seek.models import SeekConfig, SeekTransformer

    values = {"input_type": "tokens", "vocab_size": VOCAB, "head": "classification", "num_outputs": 2}
    values.update(max_len=max(seq, 64), dropout=dropout, **overrides)
    torch.manual_seed(0)
    with torch.device(device):
        return SeekTransformer(SeekConfig.preset(preset, **values))


def token_batch(batch: int, seq: int, device: str, vocab: int = VOCAB) -> tuple[torch.Tensor, torch.Tensor]:
    """Random token ids and labels on ``device``."""
    generator = torch.Generator().manual_seed(1)
    x = torch.randint(0, vocab, (batch, seq), generator=generator)
    return x.to(device), torch.randint(0, 2, (batch,), generator=generator).to(device)


def counted_flops(model: torch.nn.Module, batch: int, seq: int, device: str, precision: str = "bf16") -> int:
    """FLOPs of one forward + backward counted by ``FlopCounterMode``."""
    from torch.utils.flop_counter import FlopCounterMode

    x, y = token_batch(batch, seq, device)
    model.train()
    with FlopCounterMode(display=False) as counter:
        with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = torch.nn.functional.cross_entropy(model(x).float(), y)
        loss.backward()
    model.zero_grad(set_to_none=True)
    return int(counter.get_total_flops())


def timed_loop(
    step: Callable[[torch.Tensor, torch.Tensor], Any], x: Any, y: Any, warmup: int, steps: int, device: str
) -> float:
    """Seconds per call of ``step`` over ``steps`` calls after ``warmup``, the device synced only at both ends."""
    for _ in range(warmup):
        step(x, y)
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step(x, y)
    sync(device)
    return (time.perf_counter() - start) / steps


def bare_seconds(model: torch.nn.Module, precision: str, mode: str | None, batch: int, seq: int, args: Any) -> float:
    """Step time of a hand-written loop (fused AdamW, clipping, autocast) over ``model``; ``mode`` None = eager."""
    step, _ = peer.make_step(model.train(), precision, mode)
    x, y = token_batch(batch, seq, args.device)
    return timed_loop(step, x, y, args.warmup + (2 if mode else 0), args.steps, args.device)


def trainer_seconds(model: torch.nn.Module, precision: str, mode: str | None, batch: int, seq: int, args: Any) -> float:
    """Step time through ``seek.training.Trainer`` (one epoch), synced only at the first and last timed step."""
    from seek.training import Callback, Trainer, TrainerConfig

    warmup = args.warmup + (2 if mode else 0)
    stamps: dict[int, float] = {}

    class Ends(Callback):
        def on_step_end(self, trainer: Any, step: int, logs: Any) -> None:
            if step in (warmup, warmup + args.steps):
                sync(args.device)
                stamps[step] = time.perf_counter()

    values: dict[str, Any] = {"epochs": 1, "batch_size": batch, "precision": precision, "warmup_ratio": 0.0}
    values.update(early_stopping_patience=None, grad_clip=1.0, restore_best=False)
    if mode:
        values.update(compile=True, compile_mode=mode)
    trainer = Trainer(model, TrainerConfig(**values), callbacks=[Ends()], device=args.device, progress=False)
    generator = torch.Generator().manual_seed(1)
    samples = batch * (warmup + args.steps)
    data = {"x": torch.randint(0, VOCAB, (samples, seq), generator=generator)}
    data["y"] = torch.randint(0, 2, (samples,), generator=generator)
    trainer.fit(data)
    return (stamps[warmup + args.steps] - stamps[warmup]) / args.steps


def guarded(row: dict[str, Any], key: str, fn: Callable[[], float], args: Any) -> None:
    """Store ``fn()`` (seconds) as ``row[key]`` in ms, the best of earlier and this try; failures are recorded."""
    if time.perf_counter() > args.deadline:
        row.setdefault(key, "skipped: time budget")
        return
    try:
        ms = sig(1000 * fn())
        previous = row.get(key)
        row[key] = min(ms, previous) if isinstance(previous, float) else ms
    except torch.OutOfMemoryError:
        row[key] = "out of memory"
    except Exception as exc:  # noqa: BLE001 - a benchmark records why one variant failed and measures the rest
        row[key] = f"failed: {type(exc).__name__}: {str(exc)[:200]}"
    finally:
        free(args.device)
    print(f"    {row.get('preset', '')} {key}: {row[key]}", flush=True)


def mfu_fields(row: dict[str, Any], flops: int, keys: list[str], prefix: str) -> None:
    """Add TFLOP/s and MFU for each timed ``keys`` of ``row``."""
    for key in keys:
        ms = row.get(key)
        if isinstance(ms, float):
            tflops = flops / (ms / 1000) / 1e12
            row[f"{key.removesuffix('_ms')}_tflops"] = sig(tflops)
            row[f"{key.removesuffix('_ms')}_mfu"] = round(tflops * 1e12 / PEAK, 3)
    row[f"{prefix}_counted_tflop"] = sig(flops / 1e12)


MODES = {"eager": None, "compile": "default", "graphs": "reduce-overhead"}


def preset_row(preset: str, dropout: float, args: Any) -> dict[str, Any]:
    """Ours (hierarchy forced on: Trainer per mode, bare loop) and the peer (per mode) at ``args.seq``."""
    seq, batch, device = args.seq, args.batch, args.device
    row: dict[str, Any] = {"preset": preset, "seq": seq, "batch": batch, "dropout": dropout}
    hier = {"full_attention_below": 0}
    model = seek_model(preset, seq, dropout, device, **hier)
    row["params_m"] = round(model.num_parameters() / 1e6, 1)
    ours = counted_flops(model, batch, seq, device)
    row["formula_over_counted"] = round(model.training_flops(seq, batch) / ours, 5)
    del model
    free(device)

    def ours_run(kind: str, mode: str | None, overrides: dict[str, Any] | None = None) -> float:
        model = seek_model(preset, seq, dropout, device, **(hier if overrides is None else overrides))
        return (trainer_seconds if kind == "trainer" else bare_seconds)(model, "bf16", mode, batch, seq, args)

    for _ in range(args.repeats):  # interleaved, best of each: the host's noise hits both alike
        guarded(row, "trainer_eager_ms", lambda: ours_run("trainer", None), args)
        guarded(row, "bare_eager_ms", lambda: ours_run("bare", None), args)
    if args.switch_row:
        guarded(row, "trainer_switch_eager_ms", lambda: ours_run("trainer", None, {}), args)
    for name in args.modes:
        guarded(row, f"trainer_{name}_ms", lambda m=MODES[name]: ours_run("trainer", m), args)
    keys = ["trainer_eager_ms", "bare_eager_ms", *(f"trainer_{name}_ms" for name in args.modes)]
    mfu_fields(row, ours, keys, "ours")
    if isinstance(row.get("trainer_eager_ms"), float) and isinstance(row.get("bare_eager_ms"), float):
        row["trainer_overhead"] = round(row["trainer_eager_ms"] / row["bare_eager_ms"], 3)
    if args.no_peer:
        return row
    model = peer.build(preset, VOCAB, dropout, device)
    row["peer_params_m"] = round(sum(p.numel() for p in model.parameters()) / 1e6, 1)
    theirs = counted_flops(model, batch, seq, device)
    del model
    free(device)
    for name in ("eager", *args.modes):

        def peer_run(m: str | None = MODES[name]) -> float:
            return bare_seconds(peer.build(preset, VOCAB, dropout, device), "bf16", m, batch, seq, args)

        guarded(row, f"peer_{name}_ms", peer_run, args)
    mfu_fields(row, theirs, [f"peer_{name}_ms" for name in ("eager", *args.modes)], "peer")
    return row


def small_rows(args: Any) -> list[dict[str, Any]]:
    """``small`` through the Trainer: fp32 against bf16, eager and per compile mode (hierarchy forced on)."""
    rows = []
    for name in ("eager", *args.modes):
        row: dict[str, Any] = {"preset": args.small_preset, "seq": args.seq, "batch": args.batch, "mode": name}
        for _, precision in itertools.product(range(args.repeats), ("fp32", "bf16")):  # interleaved, best kept

            def run(p: str = precision, m: str | None = MODES[name]) -> float:
                model = seek_model(args.small_preset, args.seq, 0.1, args.device, full_attention_below=0)
                return trainer_seconds(model, p, m, args.batch, args.seq, args)

            guarded(row, f"{precision}_ms", run, args)
        if isinstance(row.get("fp32_ms"), float) and isinstance(row.get("bf16_ms"), float):
            row["bf16_speedup"] = round(row["fp32_ms"] / row["bf16_ms"], 3)
        rows.append(row)
    return rows


def length_rows(setting: dict[str, Any], args: Any) -> list[dict[str, Any]]:
    """Forward + cross-entropy + backward per length: ours (switch off, preset default) and full attention."""
    preset, precision, batch = setting["preset"], setting["precision"], setting["batch"]
    rows = []
    for length in args.lengths:
        row: dict[str, Any] = {**setting, "length": length}
        variants = {"ours_hier_ms": {"full_attention_below": 0}, "ours_ms": {}, "full_ms": {"attention": "full"}}
        for _, (key, overrides) in itertools.product(range(args.repeats), variants.items()):  # interleaved, best kept

            def measure(o: dict[str, Any] = overrides, length: int = length) -> float:
                model = seek_model(preset, length, 0.0, args.device, **o).train()
                x, y = token_batch(batch, length, args.device, VOCAB)
                autocast = torch.autocast(
                    torch.device(args.device).type, dtype=torch.bfloat16, enabled=precision == "bf16"
                )

                def step(x: torch.Tensor, y: torch.Tensor) -> None:
                    with autocast:
                        loss = torch.nn.functional.cross_entropy(model(x).float(), y)
                    loss.backward()
                    model.zero_grad(set_to_none=True)

                return timed_loop(step, x, y, args.warmup, args.length_steps, args.device)

            guarded(row, key, measure, args)
        for key in ("ours_hier_ms", "ours_ms"):
            if isinstance(row.get(key), float) and isinstance(row.get("full_ms"), float):
                row[key.replace("_ms", "_speedup")] = round(row["full_ms"] / row[key], 3)
        rows.append(row)
    return rows


def profile_step(preset: str, args: Any) -> dict[str, Any]:
    """Top CUDA kernels of a bare bf16 step of ``preset`` (3 profiled steps) and the Trainer's step time."""
    from torch.profiler import ProfilerActivity, profile

    seq, batch, device = args.seq, args.batch, args.device
    result: dict[str, Any] = {"preset": preset, "seq": seq, "batch": batch}
    guarded(
        result,
        "trainer_eager_ms",
        lambda: trainer_seconds(seek_model(preset, seq, 0.1, device), "bf16", None, batch, seq, args),
        args,
    )
    model = seek_model(preset, seq, 0.1, device)
    step, _ = peer.make_step(model.train(), "bf16", None)
    x, y = token_batch(batch, seq, device)
    for _ in range(args.warmup):
        step(x, y)
    sync(device)
    profiled = 3
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.startswith("cuda") else [])
    with profile(activities=activities) as prof:
        for _ in range(profiled):
            step(x, y)
        sync(device)
    kernels = []
    for event in prof.key_averages():
        device_us = getattr(event, "self_device_time_total", 0) or getattr(event, "self_cuda_time_total", 0)
        if device_us and event.device_type.name == "CUDA":
            kernels.append((event.key, device_us / profiled, event.count / profiled))
    total = sum(us for _, us, _ in kernels) or 1.0
    kernels.sort(key=lambda k: -k[1])

    def kind(name: str) -> str:
        low = name.lower()
        if any(t in low for t in ("gemm", "cutlass", "nvjet", "sm90_xmma", "cublas")):
            return "matmul"
        if any(t in low for t in ("flash", "fmha", "attention")):
            return "attention"
        return "other"

    shares: dict[str, float] = {}
    for name, us, _ in kernels:
        shares[kind(name)] = shares.get(kind(name), 0.0) + us
    result.update(
        kernel_ms_per_step=sig(total / 1000),
        launches_per_step=int(sum(n for _, _, n in kernels)),
        share={k: round(v / total, 3) for k, v in shares.items()},
        top=[
            {"kernel": name[:90], "ms": sig(us / 1000), "share": round(us / total, 3), "calls": int(n)}
            for name, us, n in kernels[:15]
        ],
    )
    return result


def old_profile(args: Any, out: Path) -> dict[str, Any]:
    """The profile and Trainer step time of the code before issue 17 (``--old-core``), in a fresh process."""
    command = [sys.executable, str(Path(__file__).parent / "gpu_bench.py"), "--efficiency", "--profile-worker", str(out),
               "--core", args.old_core, "--seq", str(args.seq), "--batch", str(args.batch), "--warmup", str(args.warmup),
               "--steps", str(args.steps), "--device", args.device, "--profile-preset", args.profile_preset, "--budget-s", str(max(60, int(args.deadline - time.perf_counter())))]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=max(60, args.deadline - time.perf_counter()), check=False
    )
    if done.returncode != 0:
        return {"error": done.stderr[-2000:]}
    return json.loads(out.read_text())


def run(args: Any) -> dict[str, Any]:
    """Every section in order, the report rewritten to ``args.out`` after each."""
    report: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.version.cuda, "peak_tflops": PEAK / 1e12}
    if args.device.startswith("cuda"):
        report["device"] = torch.cuda.get_device_name(0)
    save = lambda: args.out.write_text(json.dumps(report, indent=1))  # noqa: E731
    report["presets"] = []
    first, rest = args.presets[:2], args.presets[2:]  # the rest run last, so a tight budget keeps the other tables
    for preset in first:
        print(f"preset {preset}", flush=True)
        report["presets"].append(preset_row(preset, args.dropout, args))
        save()
    print("small fp32 vs bf16", flush=True)
    report["small"] = small_rows(args)
    save()
    report["lengths"] = []
    for setting in args.length_settings:
        print(f"lengths {setting}", flush=True)
        report["lengths"] += length_rows(setting, args)
        save()
    if args.profile_preset:
        print("profile", flush=True)
        report["profile_after"] = profile_step(args.profile_preset, args)
        save()
        if args.old_core:
            report["profile_before"] = old_profile(args, args.out.with_name("profile_before.json"))
            save()
    for preset in rest:
        print(f"preset {preset}", flush=True)
        report["presets"].append(preset_row(preset, args.dropout, args))
        save()
    for preset in args.dropout_presets:
        print(f"preset {preset}, dropout 0.1", flush=True)
        report["presets"].append(preset_row(preset, 0.1, args) | {"note": "preset dropout 0.1"})
        save()
    report["elapsed_s"] = round(time.perf_counter() - args.started, 1)
    save()
    return report


def _cell(row: dict[str, Any], key: str, fmt: str = "{}") -> str:
    value = row.get(key)
    return "—" if value is None else (fmt.format(value) if isinstance(value, float) else str(value))


def markdown(report: dict[str, Any]) -> str:
    """The report's tables as Markdown."""
    lines = [f"torch {report.get('torch')}, CUDA {report.get('cuda')}, {report.get('device', 'CPU')}; "
             f"MFU against {report['peak_tflops']:.0f} TFLOP/s (issue 17's figure; the spec sheet's 989 gives x0.80)"]  # fmt: skip
    variants = [("trainer_eager", "ours, Trainer, eager"), ("bare_eager", "ours, bare loop, eager"),
                ("trainer_compile", "ours, Trainer, compile"), ("trainer_graphs", "ours, Trainer, compile + CUDA graphs"),
                ("trainer_switch_eager", "ours with the preset's full-attention switch (2048 < 8192: full attention), Trainer, eager"),
                ("peer_eager", "peer, eager"), ("peer_compile", "peer, compile"), ("peer_graphs", "peer, compile + CUDA graphs")]  # fmt: skip
    lines += [
        "",
        "| preset | dropout | params M | variant | ms/step | TFLOP/s | MFU |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report.get("presets", []):
        for key, label in variants:
            if f"{key}_ms" not in r:
                continue
            params = r["peer_params_m"] if key.startswith("peer") else r["params_m"]
            lines.append(
                f"| {r['preset']} | {r['dropout']} | {params} | {label} | {_cell(r, key + '_ms')} "
                f"| {_cell(r, key + '_tflops')} | {_cell(r, key + '_mfu', '{:.1%}')} |"
            )
    lines += [
        "",
        "| preset | dropout | Trainer / bare loop (eager) | our training_flops() / FlopCounterMode |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['preset']} | {r['dropout']} | {_cell(r, 'trainer_overhead')}x | {r['formula_over_counted']} |"
              for r in report.get("presets", [])]  # fmt: skip
    if report.get("small"):
        lines += ["", "| preset | mode | fp32 ms | bf16 ms | bf16 speed-up |", "|---|---|---|---|---|"]
        for r in report["small"]:
            lines.append(
                f"| {r['preset']} | {r.get('mode', r.get('compile'))} | {_cell(r, 'fp32_ms')} | {_cell(r, 'bf16_ms')} | {_cell(r, 'bf16_speedup')}x |"
            )
    if report.get("lengths"):
        lines += ["", "| preset | precision | batch | tokens | ours, switch off ms | ours (preset default) ms | full ms "
                  "| full / ours switch off | full / ours default |", "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in report["lengths"]:
            lines.append(
                f"| {r['preset']} | {r['precision']} | {r['batch']} | {r['length']:,} | {_cell(r, 'ours_hier_ms')} | {_cell(r, 'ours_ms')} "
                f"| {_cell(r, 'full_ms')} | {_cell(r, 'ours_hier_speedup')}x | {_cell(r, 'ours_speedup')}x |"
            )
    for key in ("profile_before", "profile_after"):
        prof = report.get(key)
        if not prof or "top" not in prof:
            if prof:
                lines += ["", f"{key}: {str(prof.get('error', ''))[-300:]}"]
            continue
        lines += ["", f"{key.replace('_', ' ')} ({prof['preset']}, seq {prof['seq']}, batch {prof['batch']}, bare bf16 step, dropout 0.1): "
                  f"Trainer {prof.get('trainer_eager_ms')} ms/step; kernels {prof['kernel_ms_per_step']} ms/step, "
                  f"{prof['launches_per_step']} launches/step, time share {prof['share']}", "",
                  "| kernel | ms/step | share | calls/step |", "|---|---|---|---|"]  # fmt: skip
        lines += [f"| `{k['kernel']}` | {k['ms']} | {k['share']:.1%} | {k['calls']} |" for k in prof["top"]]
    return "\n".join(lines) + "\n"
