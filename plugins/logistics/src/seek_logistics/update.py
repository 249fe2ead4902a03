"""``seek update logistics-eta``: one quarter's incremental update of a run's model branch.

The parent run keeps, per branch (naive, ewc, online-ewc, replay), the model and its continual state;
every quarter's held-out test shipments; the last quarter's feature profile; and the error each
quarter had right after it was learned. The update reports the new quarter's drift against the last
one, fits the branch on the new quarter (lambda chosen on its validation split for EWC), and measures
the decay on every kept held-out set.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from seek.app import Report
from seek.errors import RunError

if TYPE_CHECKING:
    from seek.app import RunContext
    from seek.runs import VerifiedRun
    from seek_logistics.app import LogisticsConfig


def update_run(config: LogisticsConfig, ctx: RunContext, parent: VerifiedRun, strategy: str) -> Report:
    """Drift, update, decay on kept held-out sets, and the new model version."""
    import polars as pl

    from seek.artifacts import artifacts, load_artifact
    from seek.continual.drift import drift, label
    from seek.continual.state import ContinualState
    from seek.continual.strategies import Task, update
    from seek_logistics.data import CATEGORICAL, FIELDS, NUMERIC, with_targets
    from seek_logistics.features import FeatureSpace
    from seek_logistics.pipeline import CONTINUAL_FILE, EtaLearner, key, save_version, settings, split

    known = artifacts(parent)
    if f"state-{strategy}" not in known:
        have = sorted(role.removeprefix("state-") for role in known if role.startswith("state-"))
        raise RunError(f"--strategy {strategy}: {parent.path} keeps no {strategy} branch (it has {', '.join(have)})")
    record = parent.read_json(CONTINUAL_FILE)
    space = FeatureSpace.from_json(load_artifact(parent, "features"))
    model = load_artifact(parent, f"eta-{strategy}").train()
    state = ContinualState.load(parent.file(known[f"state-{strategy}"].path))
    kept_rows = load_artifact(parent, "holdout")
    holdout = with_targets(kept_rows.select(FIELDS)).with_columns(kept_rows.get_column("quarter"))
    reference = load_artifact(parent, "profile")

    frame = with_targets(ctx.load_table().frame)
    name = Counter(frame.get_column("quarter").to_list()).most_common(1)[0][0]
    while name in record["quarters"]:
        name += "+"
    frame = frame.with_columns(pl.lit(name).alias("quarter"))
    with ctx.stage("drift"):
        psi = drift(reference, frame.select(*NUMERIC, *CATEGORICAL))
    parts = split(frame, ctx.seed * 1009 + len(record["quarters"]), config.val_fraction, config.test_fraction)
    added = space.extend(parts["train"])
    task = Task(name, *(space.tensors(parts[p]) for p in ("train", "val", "test")))
    learner = EtaLearner(config, ctx, space)
    old = [(q, space.tensors(holdout.filter(pl.col("quarter") == q))) for q in record["quarters"]]
    before = {q: learner.errors(model, data) for q, data in old}
    before_new = learner.errors(model, task.test)
    with ctx.stage("update"):
        info = update(model, state, task, learner, settings(config, ctx.seed), f"{strategy}-{name}")
    after = {q: learner.errors(model, data) for q, data in old}
    after_new = learner.errors(model, task.test)

    diagonal = record["diagonal"][strategy]
    diagonal_mape = record["diagonal_mape"][strategy]
    decays = {q: (after[q]["mae"] - d) / d for q, d in zip(record["quarters"], diagonal, strict=True)}
    new_record = {
        "quarters": [*record["quarters"], name],
        "deploy": strategy,
        "diagonal": {strategy: [*diagonal, after_new["mae"]]},
        "diagonal_mape": {strategy: [*diagonal_mape, after_new["mape"]]},
    }
    with ctx.stage("save"):
        kept = pl.concat([holdout.select(*FIELDS, "quarter"), parts["test"].select(*FIELDS, "quarter")])
        save_version(ctx, learner, {strategy: model}, {strategy: state}, strategy, kept, frame, new_record)

    metrics: dict[str, float] = {
        "decay": sum(decays.values()) / len(decays),
        "mae_new_quarter": after_new["mae"],
        "mape_new_quarter": after_new["mape"],
        "mae_new_quarter_before_update": before_new["mae"],
        "lambda": info.lam,
        "fits": float(info.fits),
        "state_bytes": float(info.state_bytes),
        "state_terms": float(len(state.fisher)),
        "generation": float(_generation(parent) + 1),
        "drift_psi_max": max(psi.values()),
        "categories_added": float(len(added)),
        "time_update_s": info.seconds,
    }
    metrics.update({f"decay_{key(q)}": v for q, v in decays.items()})
    metrics.update({f"mae_{key(q)}": after[q]["mae"] for q in record["quarters"]})
    metrics.update({f"drift_psi_{f}": v for f, v in psi.items()})
    return Report(
        metrics=metrics,
        summary=(
            f"Quarter {name} ({frame.height:,} shipments) learned by the `{strategy}` branch of {parent.path.name}; "
            f"decay on {len(decays)} kept quarter(s) {metrics['decay']:+.1%}, new-quarter MAE "
            f"{before_new['mae']:.2f} h before -> {after_new['mae']:.2f} h after; largest drift PSI "
            f"{metrics['drift_psi_max']:.3f} ({label(metrics['drift_psi_max'])})."
        ),
        sections=[
            ("Drift of the new quarter against the last", _drift_table(psi)),
            ("Decay on kept held-out quarters", _decay_table(record["quarters"], diagonal, before, after, decays)),
            ("Update", _update_text(info, added, strategy)),
        ],
    )


def _generation(parent: VerifiedRun) -> int:
    from seek.continual.lineage import LINEAGE_FILE

    return int(parent.read_json(LINEAGE_FILE)["generation"]) if LINEAGE_FILE in parent.files else 0


def _drift_table(psi: dict[str, float]) -> str:
    from seek.continual.drift import label

    rows = ["| feature | PSI | reading |", "|---|---|---|"]
    rows += [f"| {f} | {v:.3f} | {label(v)} |" for f, v in sorted(psi.items(), key=lambda kv: -kv[1])]
    return "\n".join(rows)


def _decay_table(
    quarters: list[str], diagonal: list[float], before: dict[str, Any], after: dict[str, Any], decays: dict[str, float]
) -> str:
    rows = ["| quarter | MAE right after learning it | before this update | after | decay |", "|---|---|---|---|---|"]
    for q, d in zip(quarters, diagonal, strict=True):
        rows.append(f"| {q} | {d:.2f} | {before[q]['mae']:.2f} | {after[q]['mae']:.2f} | {decays[q]:+.1%} |")
    return "\n".join(rows)


def _update_text(info: Any, added: list[str], strategy: str) -> str:
    tried = ", ".join(f"{lam:g}: {err:.2f}" for lam, err in info.candidates) or "n/a"
    new = ", ".join(added) or "none"
    return (
        f"Strategy `{strategy}`: lambda {info.lam:g} (candidates, val MAE: {tried}); {info.fits} fit(s) in "
        f"{info.seconds:.1f} s; continual state {info.state_bytes:,} bytes. New category values: {new}."
    )
