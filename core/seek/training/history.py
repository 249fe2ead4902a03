"""The metrics history (a list of flat per-epoch dicts) and its loss-curve figure in the run folder."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seek.runs import RunFolder

HISTORY_FILE = "history.json"
LOSS_CURVE_FILE = "loss_curve.png"


def write_history(run: RunFolder, history: list[dict[str, Any]]) -> None:
    """Write ``history.json`` atomically."""
    run.write_json(HISTORY_FILE, history)


def plot_loss_curve(history: list[dict[str, Any]], title: str = "Loss per epoch") -> Any:
    """A matplotlib Figure of every ``*loss`` column of the history against the epoch."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 3.6))
    axes = figure.add_subplot(1, 1, 1)
    epochs = [row["epoch"] for row in history]
    columns = sorted({key for row in history for key in row if key.endswith("loss")})
    for column in columns:
        points = [(e, row[column]) for e, row in zip(epochs, history, strict=True) if column in row]
        axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=column)
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    if columns:
        axes.legend()
    return figure


def write_loss_curve(run: RunFolder, history: list[dict[str, Any]]) -> None:
    """Save ``loss_curve.png`` atomically (nothing to draw: nothing written)."""
    if history:
        run.save_figure(plot_loss_curve(history), LOSS_CURVE_FILE)
