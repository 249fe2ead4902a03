"""How many labels uncertainty sampling needs to reach a target accuracy, against random sampling.

    python benchmarks/bench_labeling.py --out benchmarks/results/labeling.md

scikit-learn's digits (1,797 8x8 images, 10 classes; bundled, no download): a test split of 30 % is held
out; the pool starts with 20 random labels; each round a logistic regression is fitted and 10 more labels
are picked from the pool by each strategy, until the test accuracy reaches the target or the budget ends.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import time
from pathlib import Path

STRATEGIES = ("random", "least_confidence", "margin", "entropy", "margin+diversity")


def labels_to_target(
    strategy: str, seed: int, targets: tuple[float, ...], budget: int, batch: int, start: int
) -> dict[float, int | None]:
    """Run one simulation; the number of labels at which each target accuracy was first reached."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from seek.data.labeling import select_uncertain

    x, y = load_digits(return_X_y=True)
    x = StandardScaler().fit_transform(x)
    x_pool, x_test, y_pool, y_test = train_test_split(x, y, test_size=0.3, random_state=seed, stratify=y)
    rng = np.random.default_rng(seed)
    labelled = list(rng.choice(len(x_pool), size=start, replace=False))
    reached: dict[float, int | None] = dict.fromkeys(targets)
    while True:
        model = LogisticRegression(max_iter=300).fit(x_pool[labelled], y_pool[labelled])
        accuracy = model.score(x_test, y_test)
        for target in targets:
            if reached[target] is None and accuracy >= target:
                reached[target] = len(labelled)
        if all(v is not None for v in reached.values()) or len(labelled) >= budget:
            return reached
        unlabelled = np.setdiff1d(np.arange(len(x_pool)), labelled)
        if strategy == "random":
            picks = rng.choice(unlabelled, size=batch, replace=False)
        else:
            # The model knows only the classes it has seen; put its columns into all-10 order.
            probs = np.zeros((len(unlabelled), 10))
            probs[:, model.classes_] = model.predict_proba(x_pool[unlabelled])
            name, _, extra = strategy.partition("+")
            features = x_pool[unlabelled] if extra == "diversity" else None
            picks = unlabelled[select_uncertain(probs, batch, strategy=name, features=features, seed=seed)]  # type: ignore[arg-type]
        labelled.extend(int(i) for i in picks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--targets", default="0.90,0.95")
    parser.add_argument("--budget", type=int, default=800)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--start", type=int, default=20)
    parser.add_argument("--out", default="benchmarks/results/labeling.md")
    args = parser.parse_args()
    import numpy as np

    from seek.io import atomic_write_text

    targets = tuple(float(t) for t in args.targets.split(","))
    started = time.perf_counter()
    table: dict[str, dict[float, list[int | None]]] = {}
    for strategy in STRATEGIES:
        runs = [
            labels_to_target(strategy, seed, targets, args.budget, args.batch, args.start) for seed in range(args.seeds)
        ]
        table[strategy] = {t: [r[t] for r in runs] for t in targets}
        print(strategy, table[strategy], flush=True)
    header = (
        "| strategy | "
        + " | ".join(f"labels to {t:.0%} (mean of {args.seeds})" for t in targets)
        + " | "
        + " | ".join(f"vs random at {t:.0%}" for t in targets)
        + " |"
    )
    rows = [header, "|" + "---|" * (1 + 2 * len(targets))]

    def mean(values: list[int | None]) -> float | None:
        done = [v for v in values if v is not None]
        return float(np.mean(done)) if len(done) == len(values) else None

    for strategy in STRATEGIES:
        cells = []
        for t in targets:
            m = mean(table[strategy][t])
            cells.append(f"{m:.0f}" if m is not None else f"not reached in {args.budget} (some seeds)")
        ratios = []
        for t in targets:
            m, r = mean(table[strategy][t]), mean(table["random"][t])
            ratios.append(f"{m / r:.2f}x the labels" if m is not None and r is not None else "-")
        rows.append(f"| {strategy} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    text = "\n".join(
        [
            "# Labelling simulation: uncertainty sampling vs random sampling",
            "",
            f"Command: `python benchmarks/bench_labeling.py --seeds {args.seeds} --targets {args.targets} "
            f"--budget {args.budget} --batch {args.batch} --start {args.start}`  ",
            f"Machine: {cpu}, 2 cores shared with other jobs.  ",
            f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; took {time.perf_counter() - started:.0f} s.",
            "",
            "Data: scikit-learn digits (1,797 images, 10 classes), 30 % held out for test accuracy. Model: logistic "
            f"regression on standardised pixels. Start: {args.start} random labels; then {args.batch} labels per round "
            "picked by each strategy through `seek.data.labeling.select_uncertain` (as `seek label suggest` does). "
            "Cells: labels needed before the test accuracy first reaches the target, averaged over seeds.",
            "",
            *rows,
            "",
        ]
    )
    atomic_write_text(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
