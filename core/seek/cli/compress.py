"""``seek compress``: INT8, structured pruning, distillation and ONNX export of a trained run's model."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("compress")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--method",
    "methods",
    required=True,
    metavar="M[,M...]",
    help="quantize | prune | distill | onnx, or a chain such as prune,distill,quantize,onnx.",
)
@click.option("--out", type=click.Path(path_type=Path), help="New run folder (default: runs/<app>/<UTC time>-<id>).")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="OPTION=VALUE",
    help="A compression option (amount=0.2, backend=torchao, onnx_quant=qdq, ratio=0.1, threads=2, ...).",
)
def command(run_dir: Path, methods: str, out: Path | None, overrides: tuple[str, ...]) -> None:
    """Compress the model of RUN_DIR into a new sealed run folder with a before/after comparison."""
    from seek.cli import current_manager
    from seek.cli.output import console
    from seek.config import resolve_config
    from seek.extras import require

    require("compress", "onnx", "onnxruntime", "onnxscript")
    from seek.compression.chain import compress
    from seek.compression.options import CompressOptions, parse_methods
    from seek.runner import default_root

    parse_methods(methods)  # one-line errors before anything is loaded
    options = resolve_config(CompressOptions, None, overrides)
    out_console = console()
    result = compress(
        run_dir,
        methods,
        options,
        current_manager().app,
        out=out,
        root=default_root(),
        log=lambda line: out_console.print(line, markup=False, highlight=False),
    )
    from seek.cli.output import table

    primary = result.metrics.get("quality_retained")
    rows = [
        (
            m.name,
            m.runtime,
            f"{m.size_bytes / 1024:,.1f}",
            f"{m.parameters:,}",
            f"{m.p50_b1_ms:.3f} / {m.p99_b1_ms:.3f}",
            f"{m.p50_b32_ms:.3f} / {m.p99_b32_ms:.3f}",
            f"{m.throughput:,.0f}",
            ", ".join(f"{k} {v:.4f}" for k, v in m.quality.items()),
        )
        for m in result.rows
    ]
    headers = ["model", "runtime", "KiB", "parameters", "b1 p50/p99 ms", "b32 p50/p99 ms", "samples/s", "quality"]
    out_console.print(table("compression (same process, held-out split, CPU)", headers, rows))
    out_console.print(f"quality retained: {primary:.3f}")
    out_console.print(f"run folder: {result.path}")
