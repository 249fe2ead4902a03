"""The logistics-eta report: the strategy table, the R[k][j] matrices, lambda choices and the plots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from seek.app import Figure, Report

if TYPE_CHECKING:
    from seek.app import RunContext
    from seek.continual.strategies import StreamResult
    from seek_logistics.app import LogisticsConfig

TARGET = 0.05


def _key(name: str) -> str:
    return name.replace("-", "_").lower()


def strategy_metrics(result: StreamResult, late: Mapping[str, float]) -> dict[str, float]:
    """Flat metrics per strategy: decay, newest-quarter and average error, forgetting, BWT, memory, lambdas."""
    import math

    from seek.continual.metrics import summary

    metrics: dict[str, float] = {"quarters": float(len(result.tasks))}
    for name, matrices in result.errors.items():
        k = _key(name)
        mae, mape = summary(matrices["mae"]), summary(matrices["mape"])
        metrics.update(
            {
                f"decay_{k}": mae["decay"],
                f"mae_last_quarter_{k}": mae["last_task"],
                f"avg_mae_{k}": mae["average"],
                f"forgetting_{k}": mae["forgetting"],
                f"bwt_{k}": mae["backward_transfer"],
                f"decay_mape_{k}": mape["decay"],
                f"mape_last_quarter_{k}": mape["last_task"],
                f"avg_mape_{k}": mape["average"],
                f"state_bytes_{k}": float(result.updates[name][-1].state_bytes),
                f"fits_{k}": float(sum(u.fits for u in result.updates[name])),
                f"time_update_{k}_s": sum(u.seconds for u in result.updates[name]) / len(result.updates[name]),
            }
        )
        if not math.isnan(late[name]):
            metrics[f"late_auc_last_quarter_{k}"] = late[name]
        if name in ("ewc", "online-ewc"):
            for quarter, update in zip(result.tasks[1:], result.updates[name], strict=True):
                metrics[f"lambda_{k}_{_key(quarter)}"] = update.lam
    if "ewc" in result.errors and "naive" in result.errors:
        within = metrics["mae_last_quarter_ewc"] <= (1 + TARGET) * metrics["mae_last_quarter_naive"]
        metrics["ewc_meets_target"] = float(metrics["decay_ewc"] <= TARGET and within)
    return metrics


def _table(result: StreamResult, metrics: Mapping[str, float]) -> str:
    rows = [
        "| strategy | decay (MAE) | newest-quarter MAE (h) | average MAE (h) | forgetting (h) | BWT (h) "
        "| newest MAPE | late AUC | update time (s) | state memory |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in result.errors:
        k = _key(name)
        auc = metrics.get(f"late_auc_last_quarter_{k}", float("nan"))
        rows.append(
            f"| {name} | {metrics[f'decay_{k}']:+.1%} | {metrics[f'mae_last_quarter_{k}']:.2f} "
            f"| {metrics[f'avg_mae_{k}']:.2f} | {metrics[f'forgetting_{k}']:.2f} | {metrics[f'bwt_{k}']:+.2f} "
            f"| {metrics[f'mape_last_quarter_{k}']:.1%} | {auc:.3f} | {metrics[f'time_update_{k}_s']:.2f} "
            f"| {_bytes(metrics[f'state_bytes_{k}'])} |"
        )
    return "\n".join(rows)


def _bytes(value: float) -> str:
    return f"{value / 1024:.0f} KiB" if value >= 1024 else f"{value:.0f} B"


def _lambdas(result: StreamResult) -> str:
    lines = ["| strategy | quarter | lambda chosen | candidates (lambda: val MAE) |", "|---|---|---|---|"]
    for name in ("ewc", "online-ewc"):
        for quarter, update in zip(result.tasks[1:], result.updates.get(name, []), strict=False):
            tried = ", ".join(f"{lam:g}: {err:.2f}" for lam, err in update.candidates)
            lines.append(f"| {name} | {quarter} | {update.lam:g} | {tried} |")
    return "\n".join(lines)


def stream_report(
    config: LogisticsConfig,
    ctx: RunContext,
    result: StreamResult,
    late: Mapping[str, float],
    train_sizes: Sequence[int],
) -> Report:
    """Metrics, sections and figures of a built-in (or --data) stream run."""
    from seek.continual.metrics import markdown
    from seek_logistics.evaluate import decay_figure, error_over_time_figure
    from seek_logistics.simulate import __doc__ as simulator_doc

    metrics = strategy_metrics(result, late)
    names = result.tasks
    ctx.run.save_figure(
        error_over_time_figure(names, {s: m["mae"] for s, m in result.errors.items()}), "figures/error_over_time.png"
    )
    ctx.run.save_figure(
        decay_figure({s: metrics[f"decay_{_key(s)}"] for s in result.errors}, TARGET), "figures/decay.png"
    )
    sections: list[tuple[str, str]] = [("Strategies side by side (same stream, same seeds)", _table(result, metrics))]
    verdict = "n/a"
    if "ewc_meets_target" in metrics:
        verdict = (
            f"EWC decay {metrics['decay_ewc']:+.1%} (target <= {TARGET:.0%}); newest-quarter MAE "
            f"{metrics['mae_last_quarter_ewc']:.2f} h vs naive {metrics['mae_last_quarter_naive']:.2f} h "
            f"({metrics['mae_last_quarter_ewc'] / metrics['mae_last_quarter_naive'] - 1:+.1%}, target within "
            f"{TARGET:.0%}): target {'met' if metrics['ewc_meets_target'] else 'NOT met'}."
        )
        sections.append(("The 5% claim", verdict))
    for name, matrices in result.errors.items():
        body = (
            "Rows: after the update on quarter k; columns: quarter j's test set (right of the diagonal: "
            "quarters not learned yet).\n\nMAE (hours):\n\n"
            + markdown(matrices["mae"], names, "{:.2f}")
            + "\n\nMAPE:\n\n"
            + markdown(matrices["mape"], names, "{:.1%}")
        )
        sections.append((f"R[k][j] — {name}", body))
    c = config.continual
    sections.append(
        (
            "EWC settings",
            f"Fisher: diagonal, `{c.fisher}` variant over {c.fisher_samples} training samples of each quarter; "
            f"online EWC decay gamma = {c.gamma}; lambda chosen per quarter on that quarter's validation split: "
            f"the largest of {list(c.lambdas)} whose validation MAE stays within {c.tolerance:.0%} of the "
            f"unpenalised fit.\n\n" + _lambdas(result),
        )
    )
    if ctx.data is None:
        sections.append(("Simulator", (simulator_doc or "").strip()))
    summary = (
        f"{len(names)} quarters ({', '.join(names)}), {sum(train_sizes):,} training shipments; strategies "
        f"{', '.join(result.errors)} from the same first-quarter model. {verdict}"
    )
    figures = [
        Figure("Test MAE of each quarter after each update, per strategy", "figures/error_over_time.png"),
        Figure("Decay per strategy (mean relative MAE increase on old quarters)", "figures/decay.png"),
    ]
    return Report(metrics=metrics, summary=summary, sections=sections, figures=figures)
