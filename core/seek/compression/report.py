"""The comparison report of ``seek compress``: one row per model, ratios against the original."""

from __future__ import annotations

from typing import Any

from seek.compression.measure import Measurement


def comparison_table(rows: list[Measurement], primary: str) -> str:
    """Markdown table of every measured model, the first row being the original."""
    base = rows[0]
    lines = [
        f"| model | runtime | size KiB | size vs original | parameters | p50 b1 ms | p99 b1 ms | p50 b32 ms "
        f"| p99 b32 ms | samples/s b32 | speed-up b1 / b32 | {primary} |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in rows:
        lines.append(
            f"| {m.name} | {m.runtime} | {m.size_bytes / 1024:,.1f} | {m.size_bytes / base.size_bytes:.2f}x "
            f"| {m.parameters:,} | {m.p50_b1_ms:.3f} | {m.p99_b1_ms:.3f} | {m.p50_b32_ms:.3f} | {m.p99_b32_ms:.3f} "
            f"| {m.throughput:,.0f} | {base.p50_b1_ms / m.p50_b1_ms:.2f}x / {base.p50_b32_ms / m.p50_b32_ms:.2f}x "
            f"| {m.quality.get(primary, float('nan')):.4f} |"
        )
    return "\n".join(lines)


def comparison_metrics(original: Measurement, final: Measurement, primary: str, direction: str) -> dict[str, float]:
    """Flat metrics.json entries: the final model's quality (the app's keys), the original's, and the ratios."""
    metrics: dict[str, float] = dict(final.quality)
    metrics.update({f"original_{key}": value for key, value in original.quality.items()})
    base = original.quality.get(primary, float("nan"))
    got = final.quality.get(primary, float("nan"))
    metrics["quality_retained"] = got / base if direction == "maximize" else base / got
    for name, value in (
        ("size_bytes", final.size_bytes),
        ("original_size_bytes", original.size_bytes),
        ("parameters", final.parameters),
        ("original_parameters", original.parameters),
        ("p50_b1_ms", final.p50_b1_ms),
        ("p99_b1_ms", final.p99_b1_ms),
        ("p50_b32_ms", final.p50_b32_ms),
        ("p99_b32_ms", final.p99_b32_ms),
        ("throughput_b32", final.throughput),
    ):
        metrics[name] = float(value)
    metrics["size_ratio"] = final.size_bytes / original.size_bytes
    metrics["parameters_ratio"] = final.parameters / original.parameters
    metrics["speedup_b1"] = original.p50_b1_ms / final.p50_b1_ms
    metrics["speedup_b32"] = original.p50_b32_ms / final.p50_b32_ms
    return metrics


def summary(app: str, source: str, methods: list[str], original: Measurement, final: Measurement, primary: str) -> str:
    """The report's first paragraph."""
    return (
        f"{app} model from `{source}` compressed with {' -> '.join(methods)}: "
        f"{final.size_bytes / original.size_bytes:.2f}x the size, {final.parameters / original.parameters:.2f}x the "
        f"parameters, {original.p50_b1_ms / final.p50_b1_ms:.2f}x / {original.p50_b32_ms / final.p50_b32_ms:.2f}x "
        f"the speed at batch 1 / 32, {primary} {original.quality.get(primary, float('nan')):.4f} -> "
        f"{final.quality.get(primary, float('nan')):.4f}. Measured in one process on the run's held-out split, "
        "CPU, one row per model below."
    )


def notes_section(notes: list[tuple[str, Any]]) -> str:
    """The per-stage notes as a bullet list."""
    return "\n".join(f"- **{stage}**: {text}" for stage, text in notes)
