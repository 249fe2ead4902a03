"""Terminal output helpers shared by the commands (rich, imported lazily)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def console(stderr: bool = False) -> Any:
    """A rich console that does not wrap lines when output is not a terminal."""
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=True)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], no_wrap: Sequence[str] = ()) -> Any:
    """A rich table with ``columns`` and string-ified ``rows`` (``no_wrap``: columns kept on one line)."""
    from rich.table import Table

    result = Table(title=title, title_justify="left")
    for column in columns:
        result.add_column(column, overflow="fold", no_wrap=column in no_wrap)
    for row in rows:
        result.add_row(*(str(cell) for cell in row))
    return result


def format_metric(value: float) -> str:
    """Integers as integers with thousands separators (58,210); other values with 4 significant digits."""
    if value != value or value in (float("inf"), float("-inf")):  # NaN or infinite: say so plainly
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.4g}"


def format_seconds(seconds: float) -> str:
    """``0.4 s``, ``12.3 s``, ``4 min 05 s``, ``1 h 02 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def headline_metrics(metrics: dict[str, float], headline: Sequence[str], limit: int = 8) -> list[str]:
    """The keys a summary shows: the app's headline metrics that exist, else its first non-timing metrics."""
    keys = [key for key in headline if key in metrics]
    if keys:
        return keys
    return [key for key in metrics if not key.startswith("time_") and key not in ("rows_in", "rows_rejected")][:limit]


def run_summary(
    app_name: str,
    headline: Sequence[str],
    metrics: dict[str, float],
    path: Any,
    timings: dict[str, float],
    rows_rejected: int,
    wall_s: float,
) -> str:
    """The text ``seek run`` ends with: headline metrics, rejected rows, stage times, folder and report."""
    from pathlib import Path

    folder = Path(path)
    keys = headline_metrics(metrics, headline)
    width = max((len(key) for key in keys), default=0)
    lines = [f"{app_name} finished in {format_seconds(wall_s)}"]
    lines += [f"  {key:<{width}}  {format_metric(metrics[key])}" for key in keys]
    rejected = f"{rows_rejected:,} rejected" + (f" ({folder / 'rejected.parquet'})" if rows_rejected else "")
    if "rows_in" in metrics:
        lines.append(f"input rows: {format_metric(metrics['rows_in'])} read, {rejected}")
    else:
        lines.append(f"input rows: {rejected}")
    if timings:
        lines.append("time by stage: " + ", ".join(f"{name} {format_seconds(s)}" for name, s in timings.items()))
    lines.append(f"run folder: {folder}")
    if (folder / "report.md").is_file():
        lines.append(f"report: {folder / 'report.md'}")
    return "\n".join(lines)
