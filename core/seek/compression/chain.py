"""``seek compress`` end to end: verify the run, apply the method chain, measure every model, seal a new run.

Order, as in seek.runner: the source run is verified and every option, method and the app's data hook
are checked before the new folder exists; then config.json (the source's), compress.json and run.json
("running") are written; each stage writes its model through :class:`~seek.artifacts.ArtifactWriter`
(intermediates as ``<role>@<n>-<method>``, the last one under the model's own role, so the app's
predictor serves it); every model is measured in this process on the same held-out split; metrics.json,
comparison.json and report.md follow; run.json says "finished"; the manifest is sealed last.
"""

from __future__ import annotations

import copy
import hashlib
import os
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seek.app import App, Report
from seek.artifacts import Artifact, ArtifactWriter, artifacts, load_artifact
from seek.compression.architecture import BUILDER, Int8Linear, count_parameters, describe
from seek.compression.data import CompressionData
from seek.compression.measure import Measurement, measure
from seek.compression.options import CompressOptions, parse_methods
from seek.errors import RunError
from seek.runs import RunFolder, VerifiedRun, load_run, new_run_path

TORCH_KINDS = ("seek-transformer", "torch-module")


@dataclass
class Stage:
    """A model produced by one step of the chain, as written into the new run folder."""

    name: str
    runtime: str
    model: Any
    artifact: Artifact
    parameters: int


@dataclass
class CompressResult:
    """A sealed compressed run: its folder, every measured model (original first) and the stage notes."""

    path: Path
    rows: list[Measurement]
    notes: list[tuple[str, str]] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)


def pick_role(run: VerifiedRun, requested: str | None) -> Artifact:
    """The model artifact to compress: ``requested``, else the run's only Seek/torch model."""
    known = artifacts(run)
    if requested is not None:
        if requested not in known:
            raise RunError(f"{run.path}: no artifact with role {requested!r} (artifacts: {', '.join(known) or 'none'})")
        art = known[requested]
    else:
        models = [a for a in known.values() if a.kind in TORCH_KINDS and "@" not in a.role]
        if not models:
            listed = ", ".join(f"{a.role} ({a.kind})" for a in known.values()) or "none"
            raise RunError(
                f"{run.path}: no Seek model to compress; seek compress applies to Seek transformers "
                f"(artifacts: {listed})"
            )
        if len(models) != 1:
            listed = ", ".join(f"{a.role} ({a.kind})" for a in known.values()) or "none"
            raise RunError(f"{run.path}: pick the model with --set role=NAME (artifacts: {listed})")
        art = models[0]
    if art.kind not in TORCH_KINDS:
        raise RunError(
            f"{run.path}: artifact {art.role!r} is a {art.kind} model; seek compress applies to Seek transformers"
        )
    if art.kind == "torch-module":
        builder = run.read_json(f"{art.path}/module.json").get("builder")
        if builder != BUILDER:
            raise RunError(
                f"{run.path}: artifact {art.role!r} is a torch module built by {builder}; seek compress applies to "
                "Seek transformers (seek-transformer artifacts or models it compressed itself)"
            )
    return art


def _check_float(model: Any, method: str) -> None:
    for path, module in model.named_modules():
        if isinstance(module, Int8Linear):
            raise RunError(f"--method {method}: layer {path} is already INT8; {method} needs a float model")


def compress(
    source: str | os.PathLike[str],
    methods_text: str,
    options: CompressOptions,
    find_app: Callable[[str], App[Any]],
    out: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] | None = None,
    log: Callable[[str], None] = lambda _line: None,
    data: CompressionData | None = None,
) -> CompressResult:
    """Compress the model of run folder ``source`` with the chain ``methods_text`` into a new sealed run.

    ``data`` replaces the app's :meth:`~seek.app.App.compression_data` (a benchmark's own held-out set).
    """
    import torch

    methods = parse_methods(methods_text)
    src = load_run(source)
    meta = src.read_json("run.json")
    app = find_app(str(meta.get("app")))
    art = pick_role(src, options.role)
    try:
        data = data if data is not None else app.compression_data(src, art.role)
    except NotImplementedError:
        raise RunError(
            f"app {app.name!r} gives no held-out data (App.compression_data); seek compress needs it to measure quality"
        ) from None
    original = load_artifact(src, art.role)
    for method in methods:
        if method != "onnx":
            _check_float(original, method)
    if "distill" in methods:  # a student that cannot be smaller is refused before any folder exists
        from seek.compression.distill import student_config

        student_config(original, options.ratio, options.student_hidden_size, options.student_num_layers)
    run = RunFolder(Path(out) if out is not None else new_run_path(root or "runs", app.name))
    started = time.perf_counter()
    manifest_sha = hashlib.sha256((src.path / "manifest.json").read_bytes()).hexdigest()
    run_meta: dict[str, Any] = {
        "app": app.name,
        "seed": meta.get("seed", 0),
        "device": "cpu",
        "status": "running",
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "compressed_from": str(src.path),
        "source_manifest_sha256": manifest_sha,
        "methods": methods,
    }
    run.write_json("config.json", src.config)
    run.write_json("compress.json", {"methods": methods, "role": art.role, "options": options.model_dump(mode="json")})
    run.write_json("run.json", run_meta)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(options.threads)
    try:
        result = _run_chain(run, src, art, original, data, methods, options, log)
        report = Report(
            metrics=result.metrics,
            summary=_summary(app.name, src, methods, result, data.primary),
            sections=_sections(result, data),
        )
        run.write_json("comparison.json", {"primary": data.primary, "rows": [r.to_json() for r in result.rows]})
        run.write_report(app.name, report, options.model_dump(mode="json"))
    except BaseException as exc:
        run_meta.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        run.write_json("run.json", run_meta)
        raise
    finally:
        torch.set_num_threads(previous_threads)
    run_meta.update(
        status="finished",
        finished=datetime.now(UTC).isoformat(timespec="seconds"),
        duration_s=round(time.perf_counter() - started, 3),
    )
    run.write_json("run.json", run_meta)
    run.seal()
    result.path = run.path
    return result


def _run_chain(
    run: RunFolder,
    src: VerifiedRun,
    art: Artifact,
    original: Any,
    data: CompressionData,
    methods: list[str],
    options: CompressOptions,
    log: Callable[[str], None],
) -> CompressResult:
    writer = ArtifactWriter(run)
    for role, other in artifacts(src).items():  # what the predictor needs beside the model (scalers, boosters)
        if role != art.role:
            for name in other.files:
                run.write_bytes(name, src.file(name).read_bytes())
            writer.record(role, other.kind, other.path, other.files, other.meta)  # type: ignore[arg-type]
    rows = [
        measure(
            "original",
            "torch fp32",
            original,
            [src.file(n) for n in art.files],
            count_parameters(original),
            data,
            options.repeats,
            options.threads,
        )
    ]
    log(f"original: {data.primary} {rows[0].quality.get(data.primary, float('nan')):.4f}")
    notes: list[tuple[str, str]] = []
    float_model = original
    steps = _expand(methods)
    for index, step in enumerate(steps, start=1):
        last = index == len(steps)
        role = art.role if last else f"{art.role}@{index}-{step}"
        folder = "model" if last else f"stages/{index}-{step}"
        stage, note = _apply(step, float_model, run, writer, role, folder, data, options, steps[:index])
        notes.append((step, note))
        log(f"{step}: {note}")
        if step in ("prune", "distill"):
            float_model = stage.model
        files = [run.path / name for name in stage.artifact.files]
        rows.append(
            measure(step, stage.runtime, stage.model, files, stage.parameters, data, options.repeats, options.threads)
        )
    from seek.compression.report import comparison_metrics

    metrics = comparison_metrics(rows[0], rows[-1], data.primary, data.direction)
    return CompressResult(path=run.path, rows=rows, notes=notes, metrics=metrics)


def _expand(methods: list[str]) -> list[str]:
    """The stages to run: ``onnx`` with ``quantize`` in the chain adds the onnxruntime INT8 stage after it."""
    steps = list(methods)
    if "onnx" in steps and "quantize" in steps:
        steps.remove("quantize")
        if methods.index("quantize") < methods.index("onnx"):
            steps.insert(steps.index("onnx"), "quantize")
        steps.append("onnx-quantize")
    return steps


def _apply(
    step: str,
    model: Any,
    run: RunFolder,
    writer: ArtifactWriter,
    role: str,
    folder: str,
    data: CompressionData,
    options: CompressOptions,
    done: list[str],
) -> tuple[Stage, str]:
    """Run one stage on the float ``model`` and write its artifact."""
    from seek.training import Trainer, TrainerConfig

    if step == "prune":
        from seek.compression.prune import prune_structured

        pruned, s = prune_structured(model, data, options.amount, options.importance)
        if options.finetune_epochs:
            config = TrainerConfig(
                epochs=options.finetune_epochs,
                batch_size=options.batch_size,
                lr=options.finetune_lr,
                early_stopping_patience=None,
                monitor="val_loss",
                mode="min",
                seed=options.seed,
            )
            Trainer(pruned, config, device="cpu", progress=False).fit(dict(data.train), dict(data.val))
        pruned = pruned.cpu().eval()
        artifact = writer.save_module(role, pruned, BUILDER, describe(pruned), path=folder, meta={"method": "prune"})
        note = (
            f"{options.importance} importance, removed {s.heads_before - s.heads_after}/{s.heads_before} head "
            f"channels and {s.ffn_before - s.ffn_after}/{s.ffn_before} FFN units "
            f"({s.channels_removed:.0%} of prunable channels), parameters {s.params_before:,} -> {s.params_after:,}, "
            f"fine-tuned {options.finetune_epochs} epochs"
        )
        return Stage("prune", "torch fp32 (pruned)", pruned, artifact, count_parameters(pruned)), note
    if step == "distill":
        from seek.compression.distill import count, distill, student_config

        student_cfg = student_config(model, options.ratio, options.student_hidden_size, options.student_num_layers)
        config = TrainerConfig(
            epochs=options.distill_epochs,
            batch_size=options.batch_size,
            lr=options.distill_lr,
            early_stopping_patience=options.patience,
            monitor="val_loss",
            mode="min",
            seed=options.seed,
        )
        student = distill(model, data, student_cfg, config, options.temperature, options.alpha)
        artifact = writer.save_seek_model(role, student, path=folder, meta={"method": "distill"})
        teacher_params = count_parameters(model)
        note = (
            f"student hidden {student_cfg.hidden_size}, {student_cfg.num_layers} layers, "
            f"{student_cfg.num_heads} heads: "
            f"{count(student_cfg):,} parameters ({count(student_cfg) / teacher_params:.1%} of the teacher's "
            f"{teacher_params:,}); T={options.temperature}, alpha={options.alpha}"
        )
        return Stage("distill", "torch fp32 (student)", student, artifact, count_parameters(student)), note
    if step == "quantize":
        from seek.compression.quantize import quantize_dynamic_int8

        quantized, backend = quantize_dynamic_int8(model, options.backend, options.reduce_range)
        artifact = writer.save_module(
            role, quantized, BUILDER, describe(quantized), path=folder, meta={"method": "quantize", "backend": backend}
        )
        skipped = getattr(quantized, "int8_skipped", [])
        note = f"dynamic INT8 of every Linear, backend {backend}, reduce_range={options.reduce_range}" + (
            f"; left in float: {', '.join(skipped)}" if skipped else ""
        )
        return Stage("quantize", f"torch int8 ({backend})", quantized, artifact, count_parameters(quantized)), note
    if step == "onnx":
        return _export(model, run, writer, role, folder, data, options)
    if step == "onnx-quantize":
        return _onnx_quantize(run, writer, role, folder, data, options, done)
    raise AssertionError(step)


def _export(
    model: Any,
    run: RunFolder,
    writer: ArtifactWriter,
    role: str,
    folder: str,
    data: CompressionData,
    options: CompressOptions,
) -> tuple[Stage, str]:
    from seek.compression.onnx_export import OnnxModel, export_onnx, parity, session

    x, mask = data.inputs("test")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        axes = export_onnx(copy.deepcopy(model), x, mask, path, options.opset)
        artifact = writer.save_onnx(role, path.read_bytes(), f"{folder}.onnx", meta={"method": "onnx"})
    onnx_model = OnnxModel(session(run.path / artifact.path, options.threads))
    check = parity(model, onnx_model, x, mask, options.tolerance)
    if not check.ok:
        raise RunError(f"{check.line()}; the exported graph does not compute what the torch model does")
    note = f"opset {options.opset}, {axes}; {check.line()}"
    return Stage("onnx", "onnxruntime fp32", onnx_model, artifact, onnx_parameters(run.path / artifact.path)), note


def _onnx_quantize(
    run: RunFolder,
    writer: ArtifactWriter,
    role: str,
    folder: str,
    data: CompressionData,
    options: CompressOptions,
    done: list[str],
) -> tuple[Stage, str]:
    from seek.compression.onnx_export import OnnxModel, session
    from seek.compression.quantize import quantize_onnx

    exported = next(a for r, a in writer.records.items() if r.endswith("-onnx"))  # the fp32 graph just exported
    source = run.path / exported.path
    x, mask = data.inputs("train")
    feeder = OnnxModel(session(source, 1))
    calibration = [
        feeder.feeds(x[i : i + 32], None if mask is None else mask[i : i + 32])
        for i in range(0, min(len(x), 32 * options.calibration_batches), 32)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "model.int8.onnx"
        quantize_onnx(source, target, options.onnx_quant, options.reduce_range, calibration)
        artifact = writer.save_onnx(
            role,
            target.read_bytes(),
            f"{folder}.int8.onnx",
            meta={"method": "quantize", "onnx_quant": options.onnx_quant},
        )
    model = OnnxModel(session(run.path / artifact.path, options.threads))
    note = f"onnxruntime {options.onnx_quant} INT8 (per-channel weights, reduce_range={options.reduce_range})"
    return Stage(
        "onnx-quantize",
        f"onnxruntime int8 {options.onnx_quant}",
        model,
        artifact,
        onnx_parameters(run.path / artifact.path),
    ), note


def onnx_parameters(path: Path) -> int:
    """Weights stored in an ONNX graph: the elements of its initializers."""
    import math

    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return sum(math.prod(init.dims) for init in graph.initializer)


def _summary(app: str, src: VerifiedRun, methods: list[str], result: CompressResult, primary: str) -> str:
    from seek.compression.report import summary

    return summary(app, str(src.path), methods, result.rows[0], result.rows[-1], primary)


def _sections(result: CompressResult, data: CompressionData) -> list[tuple[str, str]]:
    from seek.compression.report import comparison_table, notes_section

    return [
        ("Comparison", comparison_table(result.rows, data.primary)),
        ("Stages", notes_section(result.notes)),
    ]
