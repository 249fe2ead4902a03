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
import statistics
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
    """Drop compiled code and cached blocks between measurements.

    Every SeekBlock shares one ``forward``: without the reset, each preset, dtype and mode compiled in
    this process counts against dynamo's recompile limit (8), past which blocks silently run eager.
    """
    torch._dynamo.reset()
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


def bare_seconds(
    model: torch.nn.Module, precision: str, mode: str | None, batch: int, seq: int, args: Any, loaded: bool = False
) -> float:
    """Step time of a hand-written loop (fused AdamW, clipping, autocast) over ``model``; ``mode`` None = eager.

    ``loaded``: each step takes a fresh batch through the Trainer's own data path (``seek.training.data``:
    DataLoader over a CPU dataset, pinned, copied to the device), so the difference to the plain bare loop
    is what loading costs and the difference to the Trainer is the Trainer's bookkeeping.
    """
    step, _ = peer.make_step(model.train(), precision, mode)
    x, y = token_batch(batch, seq, args.device)
    if not loaded:
        return timed_loop(step, x, y, args.warmup + (2 if mode else 0), args.steps, args.device)
    from seek.training.data import TensorDictDataset, loader, to_device

    total = args.warmup + (2 if mode else 0) + args.steps
    generator = torch.Generator().manual_seed(1)
    data = {"x": torch.randint(0, VOCAB, (batch * total, seq), generator=generator)}
    data["y"] = torch.randint(0, 2, (batch * total,), generator=generator)
    batches = [list(range(i * batch, (i + 1) * batch)) for i in range(total)]
    source = iter(loader(TensorDictDataset(data), batches, 0, 0, args.device.startswith("cuda")))

    def loaded_step(_x: torch.Tensor, _y: torch.Tensor) -> Any:
        fresh = to_device(next(source), torch.device(args.device))
        return step(fresh["x"], fresh["y"])

    return timed_loop(loaded_step, x, y, args.warmup + (2 if mode else 0), args.steps, args.device)


def trainer_seconds(
    model: torch.nn.Module,
    precision: str,
    mode: str | None,
    batch: int,
    seq: int,
    args: Any,
    param_dtype: str = "fp32",
    fold_clip: bool = True,
) -> float:
    """Step time through ``seek.training.Trainer`` (one epoch), synced only at the first and last timed step."""
    from seek.training import Callback, Trainer, TrainerConfig

    Trainer._fold_clip = fold_clip

    warmup = args.warmup + (2 if mode else 0)
    stamps: dict[int, float] = {}

    class Ends(Callback):
        def on_step_end(self, trainer: Any, step: int, logs: Any) -> None:
            if step in (warmup, warmup + args.steps):
                sync(args.device)
                stamps[step] = time.perf_counter()

    values: dict[str, Any] = {"epochs": 1, "batch_size": batch, "precision": precision, "warmup_ratio": 0.0}
    values.update(early_stopping_patience=None, grad_clip=1.0, restore_best=False)
    if param_dtype != "fp32":
        values["param_dtype"] = param_dtype
    if mode == CUDA_GRAPHS:
        values.update(cuda_graphs=True)
    elif mode:
        values.update(compile=True, compile_mode=mode)
    trainer = Trainer(model, TrainerConfig(**values), callbacks=[Ends()], device=args.device, progress=False)
    generator = torch.Generator().manual_seed(1)
    samples = batch * (warmup + args.steps)
    data = {"x": torch.randint(0, VOCAB, (samples, seq), generator=generator)}
    data["y"] = torch.randint(0, 2, (samples,), generator=generator)
    try:
        trainer.fit(data)
    finally:
        Trainer._fold_clip = True
    return (stamps[warmup + args.steps] - stamps[warmup]) / args.steps


def guarded(row: dict[str, Any], key: str, fn: Callable[[], float], args: Any) -> None:
    """Store ``fn()`` (seconds) as ``row[key]`` in ms: every try is kept in ``row["tries"]``, ``row[key]`` is
    their best or (``--stat median``) their median; failures are recorded."""
    if time.perf_counter() > args.deadline:
        row.setdefault(key, "skipped: time budget")
        return
    try:
        tries = row.setdefault("tries", {}).setdefault(key, [])
        tries.append(sig(1000 * fn()))
        row[key] = sig(statistics.median(tries)) if getattr(args, "stat", "best") == "median" else min(tries)
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


# "autotune" (max-autotune) is for the bare loop and the peer: the Trainer offers default and reduce-overhead
# "cudagraphs": the Trainer's own cuda_graphs option (eager kernels recorded per micro-batch shape, no compile)
CUDA_GRAPHS = "cuda_graphs"
MODES = {"eager": None, "compile": "default", "graphs": "reduce-overhead", "autotune": "max-autotune",
         "cudagraphs": CUDA_GRAPHS}  # fmt: skip
GRAPH_MODES = ("reduce-overhead", "max-autotune")
LARGE_VARIANTS = ["trainer-eager", "bare-eager", "trainer-eager-bf16p", "trainer-eager-shipped", "trainer-eager-bf16p-shipped",
                  "trainer-eager-bf16p-b16", "trainer-compile-bf16p", "trainer-graphs", "trainer-graphs-bf16p",
                  "trainer-graphs-bf16p-shipped", "peer-eager", "peer-graphs"]  # fmt: skip
OTHER_VARIANTS = ["trainer-eager", "bare-eager", "trainer-eager-bf16p", "trainer-eager-bf16p-shipped",
                  "trainer-graphs-bf16p", "peer-eager", "peer-graphs"]  # fmt: skip


FLAGS = ("bf16p", "shipped", "loaded", "nobias", "noaffine", "lean", "biased", "oldclip", "oldmix", "nocudnn")


def parse_variant(name: str, batch: int) -> dict[str, Any]:
    """``kind-mode[-flag...][-bN]`` (kind trainer | bare | peer, mode eager | compile | graphs) as a dict.

    Flags: ``bf16p`` bf16 parameters, ``shipped`` the preset's full-attention switch (else the hierarchy),
    ``loaded`` batches through the Trainer's data path, ``nobias`` / ``noaffine`` / ``lean`` (both)
    ``linear_bias=False`` / ``norm_affine=False`` (the peer: ``lean`` only; the GPU presets are lean since the
    fourth session), ``biased`` their blocks with biases and LayerNorm gains (the presets before it), ``oldclip`` clipping in a pass
    of its own instead of inside the fused AdamW step (bf16 parameters), ``oldmix`` the fusion's coarse
    mix differentiated by autograd (its batched (S, 2) @ (2, D) matmul) instead of ``fusion._ScaleMix``,
    ``nocudnn`` attention without the cuDNN SDPA backend (PyTorch's flash kernels instead).
    """
    kind, mode, *flags = name.split("-")
    sizes = [int(f[1:]) for f in flags if f.startswith("b") and f[1:].isdigit()]
    unknown = [f for f in flags if f not in FLAGS and not (f.startswith("b") and f[1:].isdigit())]
    if kind not in ("trainer", "bare", "peer") or mode not in MODES or unknown:
        raise SystemExit(f"gpu_efficiency: variant {name!r}: expected kind-mode[-flag...][-bN], flags {FLAGS}")
    if mode == "cudagraphs" and not (kind == "trainer" or (kind == "bare" and "bf16p" in flags)):
        raise SystemExit(
            f"gpu_efficiency: variant {name!r}: cudagraphs runs through the Trainer or bare-cudagraphs-bf16p"
        )
    overrides: dict[str, Any] = {} if "shipped" in flags else {"full_attention_below": 0}
    if "nobias" in flags or "lean" in flags:
        overrides["linear_bias"] = False
    if "noaffine" in flags or "lean" in flags:
        overrides["norm_affine"] = False
    if "biased" in flags:
        overrides.update(linear_bias=True, norm_affine=True)
    return {"kind": kind, "mode": MODES[mode], "batch": sizes[0] if sizes else batch, "overrides": overrides,
            "key": name.replace("-", "_") + "_ms", **{flag: flag in flags for flag in FLAGS}}  # fmt: skip


def master_step(model: torch.nn.Module, mode: str | None, fold_clip: bool = True) -> Any:
    """The Trainer's ``param_dtype='bf16'`` step in a bare loop (bf16 model, fp32 masters, fused AdamW).

    ``mode`` "cuda_graphs": forward and backward replayed by ``seek.training.graphs.StepGraphs``, as the
    Trainer's ``cuda_graphs`` option does. ``step.masters.exit()`` gives the model its fp32 parameters back.
    """
    from seek.training.graphs import StepGraphs
    from seek.training.master_weights import MasterWeights, clip_in_step

    masters = MasterWeights(model)
    optimizer = torch.optim.AdamW(masters.masters, lr=3e-4, weight_decay=0.01, fused=True)
    if mode not in (None, CUDA_GRAPHS):
        for block in model.blocks:
            block.compile(mode=mode)
    masters.enter()
    graphs = StepGraphs(model) if mode == CUDA_GRAPHS else None
    forward = model if graphs is None else lambda x: graphs(x, None)

    def step(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if mode in GRAPH_MODES:
            torch.compiler.cudagraph_mark_step_begin()
        loss = torch.nn.functional.cross_entropy(forward(x).float(), y)
        loss.backward()
        masters.grads_to_masters(keep=graphs is not None)
        if fold_clip:
            clip_in_step(optimizer, masters.masters, 1.0)
        else:
            torch.nn.utils.clip_grad_norm_(masters.masters, 1.0)
        optimizer.step()
        if fold_clip:
            del optimizer.grad_scale
        optimizer.zero_grad(set_to_none=True)
        masters.masters_to_params()
        return loss.detach()

    step.masters = masters  # type: ignore[attr-defined]
    return step


def preset_row(preset: str, dropout: float, args: Any, variants: list[str]) -> dict[str, Any]:
    """Each of ``variants`` of ours (hierarchy forced on unless ``shipped``) and of the peer at ``args.seq``."""
    seq, device = args.seq, args.device
    row: dict[str, Any] = {"preset": preset, "seq": seq, "batch": args.batch, "dropout": dropout}
    specs = [parse_variant(v, args.batch) for v in variants]
    flops: dict[tuple[Any, ...], int] = {}

    def ident_of(spec: dict[str, Any]) -> tuple[Any, ...]:
        if spec["kind"] == "peer":
            return ("peer", spec["lean"], spec["batch"])
        return ("ours", tuple(sorted(spec["overrides"].items())), spec["batch"])

    for spec in specs:  # FLOPs of one step counted once per model kind, configuration and batch
        ident = ident_of(spec)
        if ident in flops:
            continue
        if ident[0] == "peer":
            model = peer.build(preset, VOCAB, dropout, device, lean=spec["lean"])
            row["peer_params_m"] = round(sum(p.numel() for p in model.parameters()) / 1e6, 1)
        else:
            model = seek_model(preset, seq, dropout, device, **spec["overrides"])
            row["params_m"] = round(model.num_parameters() / 1e6, 1)
        flops[ident] = counted_flops(model, spec["batch"], seq, device)
        if ident[0] == "ours":  # our formula against the counter, per configuration
            ratio = model.training_flops(seq, spec["batch"]) / flops[ident]  # type: ignore[operator]
            row[f"formula_over_counted{'_shipped' if spec['shipped'] else ''}"] = round(ratio, 5)
        del model
        free(device)

    def measure(spec: dict[str, Any]) -> float:
        if spec["nocudnn"]:
            torch.backends.cuda.enable_cudnn_sdp(False)
            try:
                return old_mix_or_not(spec)
            finally:
                torch.backends.cuda.enable_cudnn_sdp(True)
        return old_mix_or_not(spec)

    def old_mix_or_not(spec: dict[str, Any]) -> float:
        if not spec["oldmix"]:
            return measure_variant(spec)
        from seek.models import fusion

        new_mix = fusion._ScaleMix.apply
        fusion._ScaleMix.apply = fusion.mix_scales  # type: ignore[method-assign]
        try:
            return measure_variant(spec)
        finally:
            fusion._ScaleMix.apply = new_mix  # type: ignore[method-assign]

    def measure_variant(spec: dict[str, Any]) -> float:
        batch, mode = spec["batch"], spec["mode"]
        if spec["kind"] == "peer":
            model = peer.build(preset, VOCAB, dropout, device, lean=spec["lean"])
            return bare_seconds(model, "bf16", mode, batch, seq, args)
        model = seek_model(preset, seq, dropout, device, **spec["overrides"])
        if spec["kind"] == "trainer":
            dtype = "bf16" if spec["bf16p"] else "fp32"
            return trainer_seconds(model, "bf16", mode, batch, seq, args, dtype, fold_clip=not spec["oldclip"])
        if spec["bf16p"]:
            x, y = token_batch(batch, seq, device)
            step = master_step(model.train(), mode, fold_clip=not spec["oldclip"])
            return timed_loop(step, x, y, args.warmup + (2 if mode else 0), args.steps, device)
        return bare_seconds(model, "bf16", mode, batch, seq, args, loaded=spec["loaded"])

    # eager variants (and the Trainer's CUDA graphs: no compile to pay) interleaved: the host's noise hits all alike
    eager = [s for s in specs if s["mode"] in (None, CUDA_GRAPHS)]
    for _ in range(args.repeats):
        for spec in eager:
            guarded(row, spec["key"], lambda spec=spec: measure(spec), args)
    for spec in specs:
        if spec["mode"] not in (None, CUDA_GRAPHS):
            guarded(row, spec["key"], lambda spec=spec: measure(spec), args)
    for spec in specs:
        ident = ident_of(spec)
        mfu_fields(row, flops[ident], [spec["key"]], "peer" if spec["kind"] == "peer" else "ours")
        row[f"{spec['key'].removesuffix('_ms')}_counted_tflop"] = sig(flops[ident] / 1e12)
    if isinstance(row.get("trainer_eager_ms"), float) and isinstance(row.get("bare_eager_ms"), float):
        row["trainer_overhead"] = round(row["trainer_eager_ms"] / row["bare_eager_ms"], 3)
    return row


def small_rows(args: Any) -> list[dict[str, Any]]:
    """``small`` through the Trainer: fp32 against bf16, eager and per compile mode (hierarchy forced on)."""
    rows = []
    for name in ("eager", *args.modes):
        row: dict[str, Any] = {"preset": args.small_preset, "seq": args.seq, "batch": args.batch, "mode": name}
        tries = args.repeats if name == "eager" else 1  # a compiled try is steady (and costs a compile)
        for _, precision in itertools.product(range(tries), ("fp32", "bf16", "bf16p")):  # interleaved

            def run(p: str = precision, m: str | None = MODES[name]) -> float:
                model = seek_model(args.small_preset, args.seq, 0.1, args.device, full_attention_below=0)
                dtype = "bf16" if p == "bf16p" else "fp32"
                return trainer_seconds(model, p.removesuffix("p"), m, args.batch, args.seq, args, dtype)

            guarded(row, f"{precision}_ms", run, args)
        for key in ("bf16", "bf16p"):
            if isinstance(row.get("fp32_ms"), float) and isinstance(row.get(f"{key}_ms"), float):
                row[f"{key}_speedup"] = round(row["fp32_ms"] / row[f"{key}_ms"], 3)
        rows.append(row)
    return rows


def graphed(step: Callable[[torch.Tensor, torch.Tensor], Any], x: Any, y: Any) -> Callable[[Any, Any], Any]:
    """``step`` captured once as a CUDA graph (after warm-up on a side stream); the result replays it."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            step(x, y)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step(x, y)
    return lambda _x, _y: graph.replay()


def length_rows(setting: dict[str, Any], args: Any) -> list[dict[str, Any]]:
    """Forward + cross-entropy + backward per length: ours (switch off, preset default) and full attention.

    Eager, and with ``--length-graphs`` also each step captured whole as one CUDA graph (no host time:
    the GPU work alone), every variant interleaved ``args.repeats`` times.
    """
    preset, precision, batch = setting["preset"], setting["precision"], setting["batch"]
    rows = []
    modes = ["eager", *(["graph"] if args.length_graphs else [])]
    for length in args.lengths:
        row: dict[str, Any] = {**setting, "length": length}
        variants = {"ours_hier": {"full_attention_below": 0}, "ours": {}, "full": {"attention": "full"}}
        for _, mode, (name, overrides) in itertools.product(range(args.repeats), modes, variants.items()):

            def measure(o: dict[str, Any] = overrides, length: int = length, graph: bool = mode == "graph") -> float:
                model = seek_model(preset, length, 0.0, args.device, **o).train()
                x, y = token_batch(batch, length, args.device, VOCAB)
                autocast = torch.autocast(
                    torch.device(args.device).type,
                    dtype=torch.bfloat16,
                    enabled=precision == "bf16",
                    cache_enabled=False if graph else None,
                )

                def step(x: torch.Tensor, y: torch.Tensor) -> None:
                    with autocast:
                        loss = torch.nn.functional.cross_entropy(model(x).float(), y)
                    loss.backward()
                    model.zero_grad(set_to_none=True)

                run = graphed(step, x, y) if graph else step
                return timed_loop(run, x, y, args.warmup, args.length_steps, args.device)

            guarded(row, f"{name}{'_graph' if mode == 'graph' else ''}_ms", measure, args)
        for mode in modes:
            suffix = "_graph" if mode == "graph" else ""
            for key in ("ours_hier", "ours"):
                ours, full = row.get(f"{key}{suffix}_ms"), row.get(f"full{suffix}_ms")
                if isinstance(ours, float) and isinstance(full, float):
                    row[f"{key}{suffix}_speedup"] = round(full / ours, 3)
        rows.append(row)
    return rows


class NullModel(torch.nn.Module):
    """Next to no GPU work per step (embedding, mean, linear): what a step of it costs is host work."""

    def __init__(self) -> None:
        super().__init__()
        self.config = {"head": "classification"}
        self.embed, self.out = torch.nn.Embedding(VOCAB, 8), torch.nn.Linear(8, 2)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, 2) for token ids ``x`` (B, L)."""
        return self.out(self.embed(x).mean(1))


def null_overhead_rows(args: Any) -> list[dict[str, Any]]:
    """The Trainer's own host work per step: Trainer against bare loop on ``NullModel``, same batch shape.

    With next to no GPU work the step is host time alone, so the per-step difference is what the
    Trainer adds (data path: DataLoader, pinning, copy; loss weighting; scheduler; callbacks; logs). On a
    host-bound model it adds at most that to each step; ``args.null_steps`` steps per run, runs paired
    and interleaved as in ``overhead_row``.
    """
    import types

    quick = types.SimpleNamespace(**{**vars(args), "steps": args.null_steps, "warmup": 5})
    rows = []
    for dtype in args.overhead_dtypes:
        torch.manual_seed(0)
        model = NullModel().to(args.device)
        x, y = token_batch(args.batch, args.seq, args.device)
        times: dict[str, list[float]] = {"trainer": [], "bare": []}
        for pair in range(args.overhead_pairs):
            for name in ("trainer", "bare") if pair % 2 == 0 else ("bare", "trainer"):
                if name == "trainer":
                    seconds = trainer_seconds(model, "bf16", None, args.batch, args.seq, quick, dtype)
                elif dtype == "fp32":
                    seconds = bare_seconds(model, "bf16", None, args.batch, args.seq, quick)
                else:
                    step = master_step(model.train(), None)
                    seconds = timed_loop(step, x, y, quick.warmup, quick.steps, args.device)
                    step.masters.exit()
                times[name].append(1e6 * seconds)
        extra = [t - b for t, b in zip(times["trainer"], times["bare"], strict=True)]
        row = {"param_dtype": dtype, "seq": args.seq, "batch": args.batch, "steps": args.null_steps}
        row.update(trainer_us=sig(statistics.median(times["trainer"])), bare_us=sig(statistics.median(times["bare"])))
        row.update(extra_us_median=sig(statistics.median(extra)), extra_us=[sig(e) for e in extra])
        print(f"    null-model overhead {dtype}: {row['extra_us_median']} us/step {row['extra_us']}", flush=True)
        rows.append(row)
        free(args.device)
    return rows


def overhead_rows(args: Any) -> list[dict[str, Any]]:
    """The Trainer's overhead over a bare loop, eager, per preset and parameter dtype (``overhead_row``)."""
    rows = []
    for preset, dtype in itertools.product(args.overhead_presets, args.overhead_dtypes):
        rows.append(overhead_row(preset, dtype, args))
        free(args.device)
    return rows


def overhead_row(preset: str, dtype: str, args: Any) -> dict[str, Any]:
    """Trainer against bare loop on one model: ``args.overhead_pairs`` pairs of runs of ``args.steps`` steps each.

    The order flips from pair to pair, so slow drifts of the host hit both sides alike; reported: the
    median of the per-pair ratios and their range, and the median step time of each side. Hierarchy on.
    """
    row: dict[str, Any] = {"preset": preset, "param_dtype": dtype, "seq": args.seq, "batch": args.batch}
    row["steps"] = args.steps
    model = seek_model(preset, args.seq, 0.0, args.device, full_attention_below=0)
    x, y = token_batch(args.batch, args.seq, args.device)

    def trainer() -> float:
        return trainer_seconds(model, "bf16", None, args.batch, args.seq, args, dtype)

    def bare() -> float:
        if dtype == "fp32":
            return bare_seconds(model, "bf16", None, args.batch, args.seq, args)
        step = master_step(model.train(), None)
        try:
            return timed_loop(step, x, y, args.warmup, args.steps, args.device)
        finally:
            step.masters.exit()

    times: dict[str, list[float]] = {"trainer": [], "bare": []}
    for pair in range(args.overhead_pairs):
        if time.perf_counter() > args.deadline:
            row["note"] = f"time budget: {pair} pairs"
            break
        for name in ("trainer", "bare") if pair % 2 == 0 else ("bare", "trainer"):
            times[name].append(1000 * (trainer if name == "trainer" else bare)())
    ratios = [t / b for t, b in zip(times["trainer"], times["bare"], strict=False)]
    if ratios:
        row.update(trainer_ms=sig(statistics.median(times["trainer"])), bare_ms=sig(statistics.median(times["bare"])))
        row.update(ratio_median=round(statistics.median(ratios), 4), ratio_min=round(min(ratios), 4))
        row.update(ratio_max=round(max(ratios), 4), pairs=len(ratios), ratios=[round(r, 4) for r in ratios])
    print(f"    overhead {preset} {dtype}: {row.get('ratio_median')} {row.get('ratios')}", flush=True)
    return row


def profile_step(preset: str, args: Any) -> dict[str, Any]:
    """Top CUDA kernels and host time of one bare bf16 step of ``preset`` per ``args.profile_variants``.

    ``fp32p``: fp32 parameters under bf16 autocast (the Trainer's ``precision='bf16'``); ``bf16p``: the
    Trainer's ``param_dtype='bf16'`` step; a ``graphs-`` prefix compiles the blocks as CUDA graphs; a
    ``-lean`` suffix sets ``linear_bias=False, norm_affine=False``. Hierarchy forced on,
    ``args.profile_dropout``, 3 profiled steps after warm-up.
    """
    seq, batch, device = args.seq, args.batch, args.device
    result: dict[str, Any] = {"preset": preset, "seq": seq, "batch": batch, "dropout": args.profile_dropout}
    for variant in args.profile_variants:
        if time.perf_counter() > args.deadline:
            result[variant] = "skipped: time budget"
            continue
        parts = variant.split("-")
        lean = {"linear_bias": False, "norm_affine": False} if "lean" in parts else {}
        model = seek_model(preset, seq, args.profile_dropout, device, full_attention_below=0, **lean).train()
        mode = "reduce-overhead" if "graphs" in parts else None
        step = master_step(model, mode) if "bf16p" in parts else peer.make_step(model, "bf16", mode)[0]
        x, y = token_batch(batch, seq, device)
        torch.backends.cuda.enable_cudnn_sdp("nocudnn" not in parts)
        try:
            result[variant] = profile_kernels(step, x, y, args)  # type: ignore[arg-type]
        finally:
            torch.backends.cuda.enable_cudnn_sdp(True)
        del model, step
        free(device)
        print(f"    profile {variant}: {result[variant]['kernel_ms_per_step']} ms of kernels", flush=True)
    return result


def profile_kernels(step: Callable[[torch.Tensor, torch.Tensor], Any], x: Any, y: Any, args: Any) -> dict[str, Any]:
    """Kernel time, launches, host (CPU) time per step and the top kernels of ``step``."""
    from torch.profiler import ProfilerActivity, profile

    for _ in range(args.warmup + 2):
        step(x, y)
    sync(args.device)
    profiled = 3
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if args.device.startswith("cuda") else [])
    with profile(activities=activities) as prof:
        started = time.perf_counter()
        for _ in range(profiled):
            step(x, y)
        sync(args.device)
        wall = (time.perf_counter() - started) / profiled
    kernels, host_us = [], 0.0
    for event in prof.key_averages():
        device_us = getattr(event, "self_device_time_total", 0) or getattr(event, "self_cuda_time_total", 0)
        if getattr(event, "is_user_annotation", False):
            continue  # a record_function range on the GPU timeline (Optimizer.step#...): its kernels count already
        if device_us and event.device_type.name == "CUDA":
            kernels.append((event.key, device_us / profiled, event.count / profiled))
        elif event.device_type.name == "CPU":
            host_us += event.self_cpu_time_total / profiled
    total = sum(us for _, us, _ in kernels) or 1.0
    kernels.sort(key=lambda k: -k[1])

    def kind(name: str) -> str:
        low = name.lower()
        kinds = {"matmul": ("gemm", "cutlass", "nvjet", "sm90_xmma", "cublas"), "attention": ("flash", "fmha", "attention", "sdpa"),
                 "optimizer": ("multi_tensor_apply", "adam"), "norm": ("layer_norm", "gammabeta"), "reduce": ("reduce_kernel",),
                 "copy": ("copy", "cat", "fill")}  # fmt: skip
        return next((k for k, tokens in kinds.items() if any(t in low for t in tokens)), "elementwise")

    shares: dict[str, float] = {}
    for name, us, _ in kernels:
        shares[kind(name)] = shares.get(kind(name), 0.0) + us
    return {
        "kernel_ms_per_step": sig(total / 1000),
        "launches_per_step": int(sum(n for _, _, n in kernels)),
        "host_op_ms_per_step": sig(host_us / 1000),
        "profiled_wall_ms_per_step": sig(wall * 1000),
        "share": {k: round(v / total, 3) for k, v in shares.items()},
        "top": [
            {"kernel": name[:90], "ms": sig(us / 1000), "share": round(us / total, 3), "calls": int(n)}
            for name, us, n in kernels[:40]
        ],
    }


def old_profile(args: Any, out: Path) -> dict[str, Any]:
    """The profile and Trainer step time of the code before issue 17 (``--old-core``), in a fresh process."""
    command = [sys.executable, str(Path(__file__).parent / "gpu_bench.py"), "--efficiency", "--profile-worker", str(out),
               "--core", args.old_core, "--seq", str(args.seq), "--batch", str(args.batch), "--warmup", str(args.warmup),
               "--steps", str(args.steps), "--device", args.device, "--profile-preset", args.profile_preset, "--profile-variants", "fp32p",
               "--profile-dropout", str(args.profile_dropout), "--budget-s", str(max(60, int(args.deadline - time.perf_counter())))]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=max(60, args.deadline - time.perf_counter()), check=False
    )
    if done.returncode != 0:
        return {"error": done.stderr[-2000:]}
    return json.loads(out.read_text())


def run(args: Any) -> dict[str, Any]:
    """Every section in order (most wanted first), the report rewritten to ``args.out`` after each."""
    report: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.version.cuda, "peak_tflops": PEAK / 1e12}
    if args.device.startswith("cuda"):
        report["device"] = torch.cuda.get_device_name(0)
    save = lambda: args.out.write_text(json.dumps(report, indent=1))  # noqa: E731
    report["presets"] = []
    first, rest = args.presets[:1], args.presets[1:]  # the rest run later, so a tight budget keeps the other tables
    for preset in first:
        print(f"preset {preset}", flush=True)
        report["presets"].append(preset_row(preset, args.dropout, args, args.variants))
        save()
    if args.null_overhead:
        print("Trainer overhead on a null model", flush=True)
        report["null_overhead"] = null_overhead_rows(args)
        save()
    if args.overhead_presets:
        print("Trainer overhead", flush=True)
        report["overhead"] = overhead_rows(args)
        save()
    if args.small_preset:
        print("small fp32 vs bf16", flush=True)
        report["small"] = small_rows(args)
        save()
    if args.profile_preset:
        print("profile", flush=True)
        report["profile_after"] = profile_step(args.profile_preset, args)
        save()
        if args.old_core:
            report["profile_before"] = old_profile(args, args.out.with_name("profile_before.json"))
            save()
    report["lengths"] = []
    for setting in args.length_settings:
        print(f"lengths {setting}", flush=True)
        report["lengths"] += length_rows(setting, args)
        save()
    for preset in rest:
        print(f"preset {preset}", flush=True)
        report["presets"].append(preset_row(preset, args.dropout, args, args.other_variants))
        save()
    for preset in args.dropout_presets:
        print(f"preset {preset}, dropout 0.1", flush=True)
        row = preset_row(preset, 0.1, args, args.other_variants)
        report["presets"].append(row | {"note": "preset dropout 0.1"})
        save()
    report["elapsed_s"] = round(time.perf_counter() - args.started, 1)
    save()
    return report


def variant_label(key: str) -> str:
    """``trainer_graphs_bf16p_shipped`` as words."""
    kind, mode, *flags = key.split("_")
    words = {"trainer": "ours, Trainer", "bare": "ours, bare loop", "peer": "peer"}[kind]
    modes = {"eager": ", eager", "compile": ", compile", "graphs": ", compile + CUDA graphs",
             "cudagraphs": ", eager kernels as CUDA graphs (cuda_graphs=True)"}  # fmt: skip
    words += {**modes, "autotune": ", compile max-autotune + CUDA graphs"}[mode]
    words += ", bf16 params" if "bf16p" in flags else (", fp32 params (autocast)" if kind != "peer" else "")
    words += ", batches through the Trainer's data path" if "loaded" in flags else ""
    lean = {
        "lean": ", bias-free, LayerNorm without gain/bias",
        "nobias": ", bias-free",
        "noaffine": ", LayerNorm without gain/bias",
    }
    words += "".join(text for flag, text in lean.items() if flag in flags)
    words += ", with biases and LayerNorm gains" if "biased" in flags else ""
    words += ", clipping in a pass of its own" if "oldclip" in flags else ""
    words += ", coarse mix differentiated by autograd" if "oldmix" in flags else ""
    words += ", no cuDNN attention" if "nocudnn" in flags else ""
    words += (
        ", as shipped (2048 < 8192: full attention)"
        if "shipped" in flags
        else (", hierarchy" if kind != "peer" else "")
    )
    return words + "".join(f", batch {f[1:]}" for f in flags if f.startswith("b") and f[1:].isdigit())


def _cell(row: dict[str, Any], key: str, fmt: str = "{}") -> str:
    value = row.get(key)
    return "—" if value is None else (fmt.format(value) if isinstance(value, float) else str(value))


def markdown(report: dict[str, Any]) -> str:
    """The report's tables as Markdown."""
    lines = [f"torch {report.get('torch')}, CUDA {report.get('cuda')}, {report.get('device', 'CPU')}; "
             f"MFU against {report['peak_tflops']:.0f} TFLOP/s (issue 17's figure; the spec sheet's 989 gives x0.80)"]  # fmt: skip
    lines += [
        "",
        "| preset | dropout | variant | params M | counted TFLOP/step | ms/step | TFLOP/s | MFU |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report.get("presets", []):
        for key in [k.removesuffix("_ms") for k in r if k.endswith("_ms")]:
            params = r.get("peer_params_m") if key.startswith("peer") else r.get("params_m")
            lines.append(
                f"| {r['preset']} | {r['dropout']} | {variant_label(key)} | {params} | {_cell(r, key + '_counted_tflop')} "
                f"| {_cell(r, key + '_ms')} | {_cell(r, key + '_tflops')} | {_cell(r, key + '_mfu', '{:.1%}')} |"
            )
    lines += [
        "",
        "| preset | dropout | Trainer / bare loop (eager, fp32 params) | our training_flops() / FlopCounterMode (hierarchy, as shipped) |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['preset']} | {r['dropout']} | {_cell(r, 'trainer_overhead')}x | {r.get('formula_over_counted')}, {r.get('formula_over_counted_shipped')} |"
              for r in report.get("presets", [])]  # fmt: skip
    if report.get("small"):
        lines += ["", "| preset | mode | fp32 ms | bf16 autocast ms | bf16 params ms | bf16 autocast speed-up | bf16 params speed-up |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in report["small"]:
            lines.append(
                f"| {r['preset']} | {r.get('mode')} | {_cell(r, 'fp32_ms')} | {_cell(r, 'bf16_ms')} | {_cell(r, 'bf16p_ms')} "
                f"| {_cell(r, 'bf16_speedup')}x | {_cell(r, 'bf16p_speedup')}x |"
            )
    if report.get("null_overhead"):
        lines += ["", "| null model, params | steps | Trainer us/step | bare loop us/step | Trainer's extra us/step (median of pairs) | per pair |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for r in report["null_overhead"]:
            lines.append(
                f"| {r['param_dtype']} | {r['steps']} | {r['trainer_us']} | {r['bare_us']} | {r['extra_us_median']} | {r['extra_us']} |"
            )
    if report.get("overhead"):
        lines += ["", "| preset | params | steps | pairs | Trainer ms (median) | bare loop ms (median) | Trainer / bare: median | min | max |",
                  "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in report["overhead"]:
            lines.append(
                f"| {r['preset']} | {r['param_dtype']} | {r['steps']} | {r.get('pairs')} | {_cell(r, 'trainer_ms')} | {_cell(r, 'bare_ms')} "
                f"| {_cell(r, 'ratio_median')}x | {_cell(r, 'ratio_min')}x | {_cell(r, 'ratio_max')}x |"
            )
    if report.get("lengths"):
        lines += ["", "| preset | precision | batch | tokens | timing | ours, switch off ms | ours (preset default) ms | full ms "
                  "| full / ours switch off | full / ours default |", "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in report["lengths"]:
            for suffix, timing in (("", "eager"), ("_graph", "CUDA graph")):
                if f"full{suffix}_ms" not in r:
                    continue
                lines.append(
                    f"| {r['preset']} | {r['precision']} | {r['batch']} | {r['length']:,} | {timing} | {_cell(r, f'ours_hier{suffix}_ms')} "
                    f"| {_cell(r, f'ours{suffix}_ms')} | {_cell(r, f'full{suffix}_ms')} | {_cell(r, f'ours_hier{suffix}_speedup')}x "
                    f"| {_cell(r, f'ours{suffix}_speedup')}x |"
                )
    for key in ("profile_before", "profile_after"):
        for variant, prof in (report.get(key) or {}).items():
            if not isinstance(prof, dict) or "top" not in prof:
                if variant in ("error",):
                    lines += ["", f"{key}: {str(prof)[-300:]}"]
                continue
            lines += ["", f"{key.replace('_', ' ')}, {variant} ({report[key]['preset']}, seq {report[key]['seq']}, batch {report[key]['batch']}, "
                      f"dropout {report[key]['dropout']}, bare step): kernels {prof['kernel_ms_per_step']} ms/step, {prof['launches_per_step']} launches/step, "
                      f"host op time {prof['host_op_ms_per_step']} ms/step, profiled wall {prof['profiled_wall_ms_per_step']} ms/step, time share {prof['share']}",
                      "", "| kernel | ms/step | share | calls/step |", "|---|---|---|---|"]  # fmt: skip
            lines += [f"| `{k['kernel']}` | {k['ms']} | {k['share']:.1%} | {k['calls']} |" for k in prof["top"]]
    return "\n".join(lines) + "\n"
