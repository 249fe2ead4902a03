"""Hyper-parameter search with Optuna: TPE sampling, Hyperband pruning fed by the trainer (or report-only
metrics), app-named parameters, two-phase option."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seek.app import App, Figure, Report
from seek.config import deep_merge, dump_toml
from seek.errors import ConfigError
from seek.training.callbacks import Callback

if TYPE_CHECKING:
    import optuna

    from seek.runs import RunFolder


@dataclass(frozen=True)
class Param:
    """One searchable hyper-parameter: a float or integer range (optionally log-scaled) or a list of choices."""

    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()
    integer: bool = False

    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        """Ask ``trial`` for a value of this parameter."""
        if self.choices:
            return trial.suggest_categorical(name, list(self.choices))
        assert self.low is not None and self.high is not None
        if self.integer:
            return trial.suggest_int(name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(name, self.low, self.high, log=self.log)


# The guide's ranges: learning rate 1e-5..5e-5, weight decay 0.01..0.1, dropout 0.1..0.3, batch 16..64.
DEFAULT_SPACE: dict[str, Param] = {
    "lr": Param(1e-5, 5e-5, log=True),
    "weight_decay": Param(0.01, 0.1),
    "dropout": Param(0.1, 0.3),
    "batch_size": Param(choices=(16, 32, 64)),
}
PHASE1 = ("lr", "weight_decay")
PHASE2 = ("dropout", "batch_size")
SPEC_FORMS = "NAME=LOW:HIGH, NAME=LOW:HIGH:log, NAME=LOW:HIGH:int or NAME=A,B,C"


def parse_param(name: str, value: str) -> Param:
    """One range spec: ``LOW:HIGH`` (log-scaled for ``lr``), ``LOW:HIGH:log``, ``LOW:HIGH:int`` or ``A,B,C``."""
    if ":" in value:
        parts = value.split(":")
        kind = parts.pop() if len(parts) == 3 else ""
        if len(parts) != 2 or kind not in ("", "log", "int"):
            raise ValueError(f"expected {SPEC_FORMS.replace('NAME=', '')}")
        low, high = (float(v) for v in parts)
        if not 0 <= low < high:
            raise ValueError("need 0 <= low < high")
        if kind == "log" and low == 0:
            raise ValueError("a log-scaled range needs low > 0")
        if kind == "int" and not (low.is_integer() and high.is_integer()):
            raise ValueError("an integer range needs whole numbers")
        return Param(low, high, log=kind == "log" or (name == "lr" and not kind), integer=kind == "int")
    choices = tuple(_choice(v.strip()) for v in value.split(","))
    if any(c == "" for c in choices):
        raise ValueError("empty choice")
    return Param(choices=choices)


def _choice(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def parse_space(specs: Sequence[str], app: App | None = None) -> dict[str, Param]:
    """The space searched: the app's parameters (``TuneSpec.params``; without an app, the guide's four), each
    with the guide's default range, then the app's ``TuneSpec.space``, then the user's ``--space``."""
    tune_spec = app.tune if app is not None else None
    allowed = list(tune_spec.params) if tune_spec is not None else list(DEFAULT_SPACE)
    space = {name: DEFAULT_SPACE[name] for name in allowed if name in DEFAULT_SPACE}
    app_specs = [(f"{name}={value}", "app") for name, value in (tune_spec.space if tune_spec else {}).items()]
    for spec, origin in [*app_specs, *((s, "user") for s in specs)]:
        name, sep, value = spec.partition("=")
        if not sep or name not in allowed:
            where = f"app {app.name!r} TuneSpec.space" if origin == "app" and app is not None else "--space"
            raise ConfigError(f"{where} {spec!r}: expected {SPEC_FORMS} with NAME in {', '.join(allowed)}")
        try:
            space[name] = parse_param(name, value)
        except ValueError as exc:
            raise ConfigError(f"--space {spec!r}: {exc}") from None
    missing = [name for name in allowed if name not in space]
    if missing and app is not None:
        raise ConfigError(
            f"app {app.name!r} declares tunable {', '.join(missing)} without a range (TuneSpec.space) "
            f"and the core knows none; give one with --space {missing[0]}=LOW:HIGH"
        )
    return space


def make_storage(url: str | None) -> Any:
    """None: in memory; ``journal:PATH`` (or a path ending .log): a journal file safe for several local
    processes; any SQLAlchemy URL (``postgresql://...``): a shared database for many machines."""
    if url is None:
        return None
    import optuna
    from optuna.storages.journal import JournalFileBackend

    if url.startswith("journal:") or url.endswith(".log"):
        path = url.removeprefix("journal:")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(path))
    return optuna.storages.RDBStorage(url)


class PruningCallback(Callback):
    """A trainer callback that reports the tuned metric each epoch and prunes hopeless trials."""

    def __init__(self, trial: optuna.Trial, metric: str) -> None:
        self.trial, self.metric = trial, metric

    def on_epoch_end(self, trainer: Any, epoch: int, metrics: dict[str, float]) -> None:
        """Report ``metrics[metric]`` at step ``epoch`` and raise TrialPruned when Hyperband says so."""
        import optuna

        if self.metric not in metrics:
            raise ConfigError(f"seek tune: the trainer reports no {self.metric!r} (has {', '.join(sorted(metrics))})")
        self.trial.report(float(metrics[self.metric]), epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {epoch}")


@dataclass
class TuneSettings:
    """What ``seek tune`` was asked to do."""

    trials: int
    #: None: the app's space (:func:`parse_space` with no ``--space``).
    space: dict[str, Param] | None = None
    storage: str | None = None
    study_name: str | None = None
    two_phase: bool = False
    top_fraction: float = 0.2
    seed: int = 0
    device: str = "cpu"
    #: Stage listeners of every trial run (the CLI's progress display).
    stage_listeners: Sequence[Any] = ()
    #: Called as ``callback(study, frozen_trial)`` after each trial, pruned ones too (Optuna's own hook).
    trial_callbacks: Sequence[Any] = ()


def _set_key(config: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    node: dict[str, Any] = {}
    root = node
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return deep_merge(config, root)


def report_metric(report: Report, metric: str) -> float:
    """The tuned metric from a finished trial's report; a clear error when the run does not report it."""
    if metric not in report.metrics:
        raise ConfigError(f"seek tune: the run reports no {metric!r} (has {', '.join(sorted(report.metrics))})")
    return float(report.metrics[metric])


def _check_app(app: App, space: Mapping[str, Param]) -> str:
    if app.tune is None:
        raise ConfigError(f"app {app.name!r} declares no TuneSpec (App.tune); it cannot be tuned")
    missing = [name for name in space if name not in app.tune.params]
    if missing:
        raise ConfigError(f"app {app.name!r} cannot tune {', '.join(missing)} (tunable: {', '.join(app.tune.params)})")
    return app.tune.metric


def tune(app: App, base: dict[str, Any], settings: TuneSettings, out: RunFolder) -> Report:
    """Search the app's hyper-parameters; write trials, best parameters and best.toml into ``out``."""
    import optuna

    from seek.runner import execute

    space = settings.space if settings.space is not None else parse_space([], app)
    settings = replace(settings, space=space)
    metric = _check_app(app, space)
    assert app.tune is not None  # checked by _check_app
    direction, tunable, prune = app.tune.direction, app.tune.params, app.tune.prune
    if settings.two_phase and not set(PHASE1 + PHASE2) <= set(space):
        raise ConfigError(
            f"seek tune --two-phase searches {', '.join(PHASE1)} then {', '.join(PHASE2)}; "
            f"app {app.name!r} tunes {', '.join(space)}: search them in one phase"
        )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = make_storage(settings.storage)
    name = settings.study_name or f"{app.name}-tune"

    def study(suffix: str) -> optuna.Study:
        return optuna.create_study(
            study_name=name + suffix,
            storage=storage,
            direction=direction,
            load_if_exists=True,
            sampler=optuna.samplers.TPESampler(seed=settings.seed, n_startup_trials=min(5, settings.trials)),
            pruner=optuna.pruners.HyperbandPruner(min_resource=1),
        )

    def objective_for(names: Sequence[str], fixed: Sequence[Mapping[str, Any]] = ()) -> Any:
        def objective(trial: optuna.Trial) -> float:
            params: dict[str, Any] = {}
            if fixed:
                params.update(fixed[trial.suggest_categorical("phase1_choice", list(range(len(fixed))))])
            params.update({p: space[p].suggest(trial, p) for p in names})
            config = base
            for param, value in params.items():
                config = _set_key(config, tunable[param], value)
            resolved = app.Config.model_validate(config)
            trial.set_user_attr("params", params)
            result = execute(
                app,
                resolved,
                out=out.path / "trials" / f"{trial.study.study_name}-{trial.number:03d}",
                device=settings.device,
                seed=settings.seed,
                show_progress=False,
                callbacks=[PruningCallback(trial, metric)] if prune else [],
                stage_listeners=settings.stage_listeners,
            )
            return report_metric(result.report, metric)

        return objective

    phases: list[optuna.Study] = []
    if settings.two_phase:
        first_n = max(1, math.ceil(settings.trials / 2))
        first = study("-phase1")
        first.optimize(objective_for(PHASE1), n_trials=first_n, catch=(), callbacks=list(settings.trial_callbacks))
        done = [t for t in first.trials if t.state == optuna.trial.TrialState.COMPLETE]
        if not done:
            raise ConfigError("seek tune: no phase-1 trial completed (all pruned); give more --trials")
        done.sort(key=lambda t: float(t.value or 0.0), reverse=direction == "maximize")
        keep = done[: max(1, math.ceil(len(done) * settings.top_fraction))]
        fixed = [{p: t.params[p] for p in PHASE1} for t in keep]
        second = study("-phase2")
        second.optimize(
            objective_for(PHASE2, fixed),
            n_trials=max(1, settings.trials - first_n),
            catch=(),
            callbacks=list(settings.trial_callbacks),
        )
        phases = [first, second]
    else:
        single = study("")
        single.optimize(
            objective_for(list(space)),
            n_trials=settings.trials,
            catch=(),
            callbacks=list(settings.trial_callbacks),
        )
        phases = [single]
    return _write_results(app, base, phases, metric, settings, out)


def _write_results(
    app: App, base: dict[str, Any], studies: Sequence[optuna.Study], metric: str, settings: TuneSettings, out: RunFolder
) -> Report:
    assert app.tune is not None  # checked by _check_app
    direction, tunable = app.tune.direction, app.tune.params
    rows = [
        {
            "study": s.study_name,
            "number": t.number,
            "state": t.state.name,
            "value": t.value,
            "params": t.user_attrs.get("params", t.params),
            "last_epoch": max(t.intermediate_values, default=None),
        }
        for s in studies
        for t in s.trials
    ]
    complete = [r for r in rows if r["state"] == "COMPLETE"]
    if not complete:
        raise ConfigError("seek tune: every trial was pruned or failed; nothing to report")
    best = (max if direction == "maximize" else min)(complete, key=lambda r: r["value"])
    best_config = base
    for param, value in best["params"].items():
        best_config = _set_key(best_config, tunable[param], value)
    best_config = app.Config.model_validate(best_config).model_dump(mode="json")
    out.write_json("trials.json", rows)
    out.write_json(
        "best_params.json", {"metric": metric, "value": best["value"], "params": best["params"], "seed": settings.seed}
    )
    header = (
        f"# Best trial of `seek tune {app.name}`: {metric} = {best['value']:.6g}\n"
        f"# Reproduce: seek run {app.name} --config best.toml --seed {settings.seed}\n"
    )
    out.write_text("best.toml", header + dump_toml(best_config))
    out.save_figure(_history_plot(rows, metric, direction), "optimization_history.png")
    pruned = sum(r["state"] == "PRUNED" for r in rows)
    pruner = "+ Hyperband " if app.tune.prune else "(report-only metric, no pruning) "
    table = ["| study | trial | state | " + metric + " | params |", "|---|---|---|---|---|"]
    table += [f"| {r['study']} | {r['number']} | {r['state']} | {_fmt(r['value'])} | `{r['params']}` |" for r in rows]
    return Report(
        metrics={
            f"best_{metric}": best["value"],
            "trials": len(rows),
            "trials_complete": len(complete),
            "trials_pruned": pruned,
        },
        summary=(
            f"TPE {pruner}search over {', '.join(settings.space or {})}; best {metric} {best['value']:.4f} "
            f"with {best['params']}. Reproduce with `seek run {app.name} --config best.toml "
            f"--seed {settings.seed}`."
        ),
        sections=[("Trials", "\n".join(table))],
        figures=[Figure("Optimisation history", "optimization_history.png")],
    )


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _history_plot(rows: Sequence[Mapping[str, Any]], metric: str, direction: str) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    xs = [i for i, r in enumerate(rows) if r["value"] is not None]
    ys = [rows[i]["value"] for i in xs]
    ax.scatter(xs, ys, label="complete trial", s=18)
    best, line = None, []
    for y in ys:
        best = y if best is None else (max(best, y) if direction == "maximize" else min(best, y))
        line.append(best)
    ax.plot(xs, line, color="C1", label="best so far")
    pruned = [i for i, r in enumerate(rows) if r["state"] == "PRUNED"]
    if pruned:
        ax.scatter(pruned, [min(ys or [0])] * len(pruned), marker="x", color="grey", label="pruned")
    ax.set_xlabel("trial")
    ax.set_ylabel(metric)
    ax.legend()
    return fig


def tune_out_path(root: str | os.PathLike[str], app_name: str) -> Path:
    """Default folder of a search: ``runs/<app>-tune/<stamp>-<id>``."""
    from seek.runs import new_run_path

    return new_run_path(root, f"{app_name}-tune")
