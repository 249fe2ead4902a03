"""Continual strategies on one stream of tasks: naive fine-tuning, EWC, online EWC, replay, joint retraining.

An app hands the runner a :class:`Learner` (how to build, fit and score its model; fits go through
``ctx.trainer`` so the core Trainer does the work) and a list of :class:`Task` (train/val/test tensors
per quarter). Every strategy starts from the same model trained on the first task, with the same
seeds; :func:`update` is the one step ``seek update`` also runs on a single new task.

lambda is chosen on the new task's validation split alone (old data is not available to EWC): the
largest lambda of the grid whose validation error stays within ``tolerance`` of the unpenalised
(lambda = 0) fit from the same start. That is the stability-plasticity trade-off stated as a rule: keep
as much of the past as costs at most ``tolerance`` on the new task.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from seek.continual.fisher import TargetSampler, estimate_fisher
from seek.continual.penalty import EWCPenalty
from seek.continual.replay import ReplayLoss, reservoir_add
from seek.continual.state import ContinualState, Tensors
from seek.errors import ConfigError

if TYPE_CHECKING:
    import torch

log = logging.getLogger("seek.continual")


@dataclass
class Task:
    """One task of the stream (a quarter): its name and train/val/test dicts of tensors."""

    name: str
    train: Tensors
    val: Tensors
    test: Tensors


class Learner(Protocol):
    """What the runner needs from an app: build, fit and score its model."""

    loss_fn: Callable[[Any, dict[str, Any]], torch.Tensor]
    sample_targets: TargetSampler | None
    primary: str

    def new_model(self) -> torch.nn.Module:
        """A freshly initialised model (seeded by the app)."""
        ...

    def fit(self, model: torch.nn.Module, train: Tensors, val: Tensors, callbacks: list[Any], name: str) -> None:
        """Train ``model`` in place with the core Trainer (``ctx.trainer(..., name=name, callbacks=callbacks)``)."""
        ...

    def errors(self, model: torch.nn.Module, data: Tensors) -> dict[str, float]:
        """Error metrics of ``model`` on ``data`` (lower is better), including ``primary``."""
        ...


@dataclass
class StreamSettings:
    """Knobs shared by every strategy."""

    lambdas: Sequence[float] = (1.0, 10.0, 100.0, 1000.0)
    tolerance: float = 0.05
    gamma: float = 0.9
    fisher_variant: str = "true"
    fisher_samples: int = 512
    replay_capacity: int = 300
    replay_batch: int = 32
    replay_weight: float = 1.0
    seed: int = 0


@dataclass
class UpdateInfo:
    """What one update did: the lambda chosen, the fits it took, its wall time and the state's size."""

    strategy: str
    lam: float = 0.0
    fits: int = 1
    seconds: float = 0.0
    state_bytes: int = 0
    candidates: list[tuple[float, float]] = field(default_factory=list)


def absorb(state: ContinualState, model: torch.nn.Module, task: Task, learner: Learner, s: StreamSettings) -> None:
    """After learning ``task``: consolidate its Fisher and anchor (EWC variants) or add it to the replay buffer."""
    if state.strategy in ("ewc", "online-ewc"):
        fisher = estimate_fisher(
            model,
            task.train,
            learner.loss_fn,
            variant=s.fisher_variant,
            n_samples=s.fisher_samples,
            seed=s.seed + state.tasks,
            sample_targets=learner.sample_targets,
        )
        state.consolidate(model, fisher)
    elif state.strategy == "replay":
        reservoir_add(state, task.train, s.replay_capacity, s.seed)
        state.tasks += 1
    else:
        state.tasks += 1


def update(
    model: torch.nn.Module, state: ContinualState, task: Task, learner: Learner, s: StreamSettings, name: str
) -> UpdateInfo:
    """Learn ``task`` from ``model`` (in place) with the state's strategy, then absorb it into the state."""
    started = time.perf_counter()
    info = UpdateInfo(strategy=state.strategy)
    if state.strategy == "naive":
        learner.fit(model, task.train, task.val, [], name)
    elif state.strategy == "replay":
        replay = ReplayLoss(state, learner.loss_fn, s.replay_batch, s.replay_weight, s.seed)
        learner.fit(model, task.train, task.val, [replay], name)
    elif state.strategy in ("ewc", "online-ewc"):
        info.lam, info.fits, info.candidates = choose_lambda(model, state, task, learner, s, name)
        state.lambdas.append(info.lam)
    else:
        raise ConfigError(f"strategy {state.strategy!r}: not an update strategy (naive, ewc, online-ewc, replay)")
    absorb(state, model, task, learner, s)
    info.seconds = time.perf_counter() - started
    info.state_bytes = state.nbytes
    return info


def choose_lambda(
    model: torch.nn.Module, state: ContinualState, task: Task, learner: Learner, s: StreamSettings, name: str
) -> tuple[float, int, list[tuple[float, float]]]:
    """Fit lambda = 0 and then the grid upwards; keep the largest lambda within tolerance on the new val split."""
    start = copy.deepcopy(model.state_dict())
    candidate = copy.deepcopy(model)
    learner.fit(candidate, task.train, task.val, [], f"{name}-lam0")
    reference = learner.errors(candidate, task.val)[learner.primary]
    chosen, best = 0.0, candidate.state_dict()
    tried = [(0.0, reference)]
    for i, lam in enumerate(sorted(s.lambdas), start=1):
        candidate.load_state_dict(start)
        learner.fit(candidate, task.train, task.val, [EWCPenalty(state, lam)], f"{name}-lam{i}")
        error = learner.errors(candidate, task.val)[learner.primary]
        tried.append((lam, error))
        if error > reference * (1 + s.tolerance):
            break
        chosen, best = lam, copy.deepcopy(candidate.state_dict())
    model.load_state_dict(best)
    log.info("%s: lambda %g chosen from %s", name, chosen, tried)
    return chosen, len(tried), tried


def concat(parts: Sequence[Tensors]) -> Tensors:
    """Concatenate dicts of tensors field by field (joint retraining on all history)."""
    import torch

    return {key: torch.cat([p[key] for p in parts]) for key in parts[0]}


@dataclass
class StreamResult:
    """Per strategy: ``errors[strategy][metric]`` is the matrix R[k][j]; updates hold lambda, time, memory."""

    tasks: list[str]
    errors: dict[str, dict[str, list[list[float]]]]
    updates: dict[str, list[UpdateInfo]]
    models: dict[str, Any]
    states: dict[str, ContinualState]


def run_stream(tasks: Sequence[Task], learner: Learner, strategies: Sequence[str], s: StreamSettings) -> StreamResult:
    """Run every strategy over the same tasks from the same first-task model; return the error matrices."""
    if len(tasks) < 2:
        raise ConfigError(f"a continual stream needs at least 2 tasks, got {len(tasks)}")
    base = learner.new_model()
    learner.fit(base, tasks[0].train, tasks[0].val, [], f"first-{tasks[0].name}")
    first_row = [learner.errors(base, t.test) for t in tasks]
    metrics = list(first_row[0])
    errors = {name: {m: [[row[m] for row in first_row]] for m in metrics} for name in strategies}
    models = {name: copy.deepcopy(base) for name in strategies}
    states = {name: ContinualState(name, gamma=s.gamma) for name in strategies}
    updates: dict[str, list[UpdateInfo]] = {name: [] for name in strategies}
    for name in strategies:
        absorb(states[name], models[name], tasks[0], learner, s)
    for k in range(1, len(tasks)):
        for name in strategies:
            if name == "joint":
                info = _joint(models, tasks[: k + 1], learner)
            else:
                info = update(models[name], states[name], tasks[k], learner, s, f"{name}-{tasks[k].name}")
            updates[name].append(info)
            row = [learner.errors(models[name], t.test) for t in tasks]
            for m in metrics:
                errors[name][m].append([r[m] for r in row])
    return StreamResult([t.name for t in tasks], errors, updates, models, states)


def _joint(models: dict[str, Any], seen: Sequence[Task], learner: Learner) -> UpdateInfo:
    """Retrain from scratch on every task seen so far (needs all history: the upper bound)."""
    started = time.perf_counter()
    model = learner.new_model()
    train, val = concat([t.train for t in seen]), concat([t.val for t in seen])
    learner.fit(model, train, val, [], f"joint-{seen[-1].name}")
    models["joint"] = model
    stored = sum(v.numel() * v.element_size() for t in seen for v in (*t.train.values(), *t.val.values()))
    return UpdateInfo("joint", seconds=time.perf_counter() - started, state_bytes=int(stored))
