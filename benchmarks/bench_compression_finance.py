"""The finance sequence model for bench_compression.py: a finance-fraud run and a held-out set built from it.

The model is read back from the run folder through ``load_artifact`` (role ``sequence``). The held-out
set is the run's own scored test payments: ``split_rows`` and ``train_and_score`` are wrapped while the
run executes so the exact split, features, scaler and sequence index the run used are kept, and the
test sequences are assembled from them with finance's own ``assemble`` (no second implementation).
Quality: average precision (PR AUC, primary) and ROC AUC of P(fraud) on those payments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

OVERRIDES = ["sequence.trainer.epochs=30", "sequence.max_train=6000"]


def finance_run(work: Path, seed: int) -> tuple[Path, Any]:
    """Run finance-fraud (tiny data, more sequence training) and return (run folder, CompressionData)."""
    import numpy as np
    import torch
    from sklearn.metrics import average_precision_score, roc_auc_score

    from seek.compression import CompressionData
    from seek.config import resolve_config
    from seek.plugins import get_manager
    from seek.runner import execute
    from seek_finance import model as md
    from seek_finance import pipeline, sequence

    app = get_manager().app("finance-fraud")
    config = resolve_config(app.Config, overrides=OVERRIDES, base=app.tiny)
    captured: dict[str, Any] = {}
    split_rows, train_and_score = pipeline.split_rows, sequence.train_and_score

    def keep_split(*args: Any, **kwargs: Any) -> Any:
        captured["split"] = split_rows(*args, **kwargs)
        return captured["split"]

    def keep_sequence(config: Any, ctx: Any, feats: Any, names: Any, y: Any, train: Any, rows: Any) -> Any:
        result = train_and_score(config, ctx, feats, names, y, train, rows)
        captured.update(feats=feats, y=y, result=result, k=config.sequence.k)
        return result

    pipeline.split_rows, sequence.train_and_score = keep_split, keep_sequence
    out = work / "finance"
    try:
        execute(app, config, out=out, device="cpu", seed=seed, show_progress=False)
    finally:
        pipeline.split_rows, sequence.train_and_score = split_rows, train_and_score
    feats, y, result, split = captured["feats"], captured["y"], captured["result"], captured["split"]
    steps = result.scaler(result.steps_raw)
    seconds = feats.get_column("timestamp").dt.epoch("us").to_numpy() / 1e6
    index = md.sequence_index(feats.get_column("customer_id").to_numpy(), seconds, captured["k"])
    rng = np.random.default_rng(seed)

    def sample(mask: np.ndarray, genuine: int) -> np.ndarray:
        rows = np.flatnonzero(mask)
        frauds, normal = rows[y[rows] == 1], rows[y[rows] == 0]
        return np.sort(np.concatenate([frauds, rng.choice(normal, min(genuine, normal.size), replace=False)]))

    def tensors(rows: np.ndarray) -> dict[str, Any]:
        return md.sequence_tensors(*md.assemble(steps, seconds, index[rows]), y[rows])

    def metrics(outputs: Any, target: Any) -> dict[str, float]:
        p = torch.softmax(outputs.float(), dim=-1)[:, 1].numpy()
        t = target.numpy()
        return {"test_pr_auc": float(average_precision_score(t, p)), "test_roc_auc": float(roc_auc_score(t, p))}

    data = CompressionData(
        role="sequence",
        train=tensors(sample(split.train, 6000)),
        val=tensors(sample(split.val, 3000)),
        test=tensors(np.flatnonzero(split.scored)),
        metrics=metrics,
        primary="test_pr_auc",
    )
    return out, data
