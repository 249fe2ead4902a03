"""Continual-learning metrics over the matrix ``R[k][j]``: the error on task j's test set after learning task k.

For an error (lower is better, MAE or MAPE), with T tasks and ``last = T-1``:

- ``average``: mean over j of ``R[last][j]`` (the final model on every task);
- ``decay``: mean over old tasks j < last of ``(R[last][j] - R[j][j]) / R[j][j]``, the relative increase
  of error since right after learning task j (the guide's "performance decay", target <= 5%);
- ``backward_transfer``: mean over j < last of ``R[last][j] - R[j][j]`` (error units: positive = forgot);
- ``forgetting``: mean over j < last of ``R[last][j] - min_{j<=k<last} R[k][j]`` (worse than its best).

For an accuracy (higher is better) the signs follow Lopez-Paz & Ranzato (2017) and Chaudhry et al.
(2018): ``backward_transfer = mean(A[last][j] - A[j][j])`` (negative = forgot) and
``forgetting = mean(max_{k<last} A[k][j] - A[last][j])``.
Entries above the diagonal (tasks not learned yet: forward transfer) may be present and are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence

Matrix = Sequence[Sequence[float]]


def _check(matrix: Matrix) -> int:
    tasks = len(matrix)
    if tasks == 0 or any(len(row) < tasks for row in matrix):
        raise ValueError(f"continual metrics need a square T x T matrix, got {[len(r) for r in matrix]}")
    return tasks


def average(matrix: Matrix) -> float:
    """Mean of the last row over the tasks learned: how good the final model is on every task."""
    tasks = _check(matrix)
    return sum(matrix[tasks - 1][:tasks]) / tasks


def decay(matrix: Matrix) -> float:
    """Mean relative error increase on old tasks since right after learning them (0.05 = 5%); 0 for one task."""
    tasks = _check(matrix)
    last = tasks - 1
    if last == 0:
        return 0.0
    return sum((matrix[last][j] - matrix[j][j]) / matrix[j][j] for j in range(last)) / last


def backward_transfer(matrix: Matrix, higher_is_better: bool = False) -> float:
    """Mean of ``R[last][j] - R[j][j]`` over old tasks (for errors positive means forgetting)."""
    tasks = _check(matrix)
    last = tasks - 1
    if last == 0:
        return 0.0
    return sum(matrix[last][j] - matrix[j][j] for j in range(last)) / last


def forgetting(matrix: Matrix, higher_is_better: bool = False) -> float:
    """Mean drop from each old task's best value before the last update to its final value (>= 0 = forgot)."""
    tasks = _check(matrix)
    last = tasks - 1
    if last == 0:
        return 0.0
    drops = []
    for j in range(last):
        earlier = [matrix[k][j] for k in range(j, last)]
        if higher_is_better:
            drops.append(max(earlier) - matrix[last][j])
        else:
            drops.append(matrix[last][j] - min(earlier))
    return sum(drops) / last


def summary(matrix: Matrix, higher_is_better: bool = False) -> dict[str, float]:
    """average, decay, backward_transfer, forgetting and the newest task's value, in one dict."""
    tasks = _check(matrix)
    out = {
        "average": average(matrix),
        "backward_transfer": backward_transfer(matrix, higher_is_better),
        "forgetting": forgetting(matrix, higher_is_better),
        "last_task": float(matrix[tasks - 1][tasks - 1]),
    }
    if not higher_is_better:
        out["decay"] = decay(matrix)
    return out


def markdown(matrix: Matrix, names: Sequence[str], fmt: str = "{:.3f}") -> str:
    """The matrix as a Markdown table: rows = after learning task k, columns = task j's test set (all shown)."""
    head = "| after \\ on | " + " | ".join(names) + " |"
    rule = "|---" * (len(names) + 1) + "|"
    rows = [f"| {names[k]} | " + " | ".join(fmt.format(v) for v in row) + " |" for k, row in enumerate(matrix)]
    return "\n".join([head, rule, *rows])
