"""Permuted-Digits: the core's continual strategies on a standard benchmark that is not ours.

scikit-learn's bundled 8x8 digits (1,797 images), 5 tasks = 5 fixed pixel permutations (task 1 is the
identity, the others drawn from seed 1234), the same 60/20/20 train/val/test split for every task, an
MLP 64-100-100-10 trained with the core Trainer (AdamW, lr 1e-3, 20 epochs, early stopping on val
loss). Strategies from seek.continual run on the same stream from the same first-task model:
naive fine-tuning, EWC and online EWC (true Fisher, 512 samples; lambda the largest of 10, 100, 1000,
10000 whose validation error on the new task is at most ``--tolerance`` (default 1.0: twice, i.e. about
95% -> 90% accuracy) above the unpenalised fit's; the logistics app's 5% is relative to an MAE, here
it would be a quarter of a point of accuracy, inside the noise, and picks lambda = 0), replay (200
images) and joint retraining.
Reported: average accuracy over the 5 tasks after the last one, and forgetting (mean over old tasks of
best-earlier minus final accuracy, Chaudhry et al. 2018), mean ± std over seeds.

This is the setting of Permuted MNIST (Goodfellow et al. 2013; Kirkpatrick et al. 2017, Fig. 2A),
shrunk to 8x8 images so it runs in minutes on 2 CPU cores.

    OMP_NUM_THREADS=1 python benchmarks/bench_continual_permuted_digits.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from seek.continual.fisher import categorical_sampler
from seek.continual.metrics import average, forgetting
from seek.continual.strategies import StreamSettings, Task, run_stream
from seek.training import Trainer, TrainerConfig

STRATEGIES = ("naive", "ewc", "online-ewc", "replay", "joint")
TASKS = 5


class Mlp(torch.nn.Module):
    """64-100-100-10 with ReLU, forward(x, mask=None) as the Trainer calls it."""

    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(64, 100),
            torch.nn.ReLU(),
            torch.nn.Linear(100, 100),
            torch.nn.ReLU(),
            torch.nn.Linear(100, 10),
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x)


class DigitsLearner:
    """The runner's learner: errors are 1 - accuracy (lower is better)."""

    primary = "error"

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.sample_targets = categorical_sampler()

    @staticmethod
    def loss_fn(out: torch.Tensor, batch: dict) -> torch.Tensor:
        return F.cross_entropy(out, batch["y"])

    def new_model(self) -> torch.nn.Module:
        torch.manual_seed(self.seed)
        return Mlp()

    def fit(self, model, train, val, callbacks, name) -> None:
        config = TrainerConfig(
            epochs=20, batch_size=32, lr=1e-3, weight_decay=0.0, early_stopping_patience=3, seed=self.seed
        )
        Trainer(model, config, loss_fn=self.loss_fn, callbacks=callbacks, progress=False).fit(train, val)

    def errors(self, model, data) -> dict[str, float]:
        model.eval()
        with torch.no_grad():
            accuracy = (model(data["x"]).argmax(dim=1) == data["y"]).float().mean().item()
        model.train()
        return {"error": 1.0 - accuracy}


def tasks(seed: int) -> list[Task]:
    """5 permutations of the digits, one shared split (seeded)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target, dtype=torch.long)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_train, n_val = int(0.6 * len(y)), int(0.2 * len(y))
    parts = {"train": order[:n_train], "val": order[n_train : n_train + n_val], "test": order[n_train + n_val :]}
    rng = np.random.default_rng(1234)
    perms = [np.arange(64)] + [rng.permutation(64) for _ in range(TASKS - 1)]
    out = []
    for t, perm in enumerate(perms):
        xp = x[:, torch.from_numpy(perm)]
        out.append(Task(f"P{t + 1}", *({"x": xp[idx], "y": y[idx]} for idx in parts.values())))
    return out


def main() -> None:
    """Run each seed, print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--tolerance", type=float, default=1.0, help="relative rise of the new task's val error")
    args = parser.parse_args()
    torch.set_num_threads(1)
    per_seed = []
    for seed in args.seeds:
        started = time.perf_counter()
        settings = StreamSettings(
            lambdas=(10.0, 100.0, 1000.0, 10000.0),
            tolerance=args.tolerance,
            fisher_variant="true",
            fisher_samples=512,
            replay_capacity=200,
            seed=seed,
        )
        result = run_stream(tasks(seed), DigitsLearner(seed), list(STRATEGIES), settings)
        row = {}
        for name in STRATEGIES:
            acc = [[1.0 - e for e in r] for r in result.errors[name]["error"]]
            row[name] = {
                "average_accuracy": average(acc),
                "forgetting": forgetting(acc, higher_is_better=True),
                "matrix": acc,
                "lambdas": [u.lam for u in result.updates[name]],
                "update_s": statistics.fmean(u.seconds for u in result.updates[name]),
            }
        per_seed.append(row)
        print(f"seed {seed}: {time.perf_counter() - started:.0f} s")

    def stat(name: str, key: str) -> str:
        values = [r[name][key] for r in per_seed]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{100 * statistics.fmean(values):.1f} ± {100 * spread:.1f}"

    lines = ["| strategy | average accuracy (%) | forgetting (points) | update time (s) |", "|---|---|---|---|"]
    for name in STRATEGIES:
        seconds = statistics.fmean(r[name]["update_s"] for r in per_seed)
        lines.append(f"| {name} | {stat(name, 'average_accuracy')} | {stat(name, 'forgetting')} | {seconds:.2f} |")
    table = "\n".join(lines)
    print(table)
    results = Path(__file__).parent / "results"
    (results / "continual_permuted_digits.md").write_text(table + "\n")
    (results / "continual_permuted_digits.json").write_text(
        json.dumps({"seeds": args.seeds, "runs": per_seed}, indent=1)
    )


if __name__ == "__main__":
    main()
