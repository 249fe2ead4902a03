"""``quickstart-digits``: the reference app a new domain copies (scikit-learn's bundled 8x8 digits)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from seek.app import App, AppConfig, Figure, Report, RunContext


class DigitsConfig(AppConfig):
    """Settings of the quickstart-digits run."""

    epochs: int = Field(60, ge=1, le=1000, description="Training epochs (early stopping may end sooner).")
    batch_size: int = Field(64, ge=1, le=4096, description="Samples per optimiser step.")
    lr: float = Field(2e-3, gt=0, le=1.0, description="Peak learning rate (AdamW).")
    weight_decay: float = Field(0.01, ge=0, le=1.0, description="AdamW weight decay.")
    hidden: int = Field(128, ge=8, le=4096, description="Width of the hidden layer.")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout probability.")
    patience: int = Field(6, ge=1, description="Early stopping: epochs without val improvement.")
    val_fraction: float = Field(0.15, gt=0, lt=0.5, description="Share of samples for validation.")
    test_fraction: float = Field(0.2, gt=0, lt=0.5, description="Share of samples held out for the test.")


class DigitsApp(App):
    """Classify 8x8 handwritten digits; trains in seconds on a CPU."""

    name = "quickstart-digits"
    summary = "Classify scikit-learn's bundled 8x8 handwritten digits (the reference app)."
    Config = DigitsConfig
    tiny = {"epochs": 3}

    def run(self, config: AppConfig, ctx: RunContext) -> Report:
        """Split, train, evaluate on the test split and write model + confusion matrix."""
        assert isinstance(config, DigitsConfig)
        import numpy as np
        import torch
        from sklearn.datasets import load_digits
        from sklearn.metrics import confusion_matrix, f1_score
        from sklearn.model_selection import train_test_split

        digits = load_digits()
        x = (digits.data / 16.0).astype(np.float32)
        y = digits.target.astype(np.int64)
        x_tmp, x_test, y_tmp, y_test = train_test_split(
            x, y, test_size=config.test_fraction, random_state=ctx.seed, stratify=y
        )
        val_share = config.val_fraction / (1 - config.test_fraction)
        x_train, x_val, y_train, y_val = train_test_split(
            x_tmp, y_tmp, test_size=val_share, random_state=ctx.seed, stratify=y_tmp
        )
        model = _build(config.hidden, config.dropout)
        opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        gen = torch.Generator().manual_seed(ctx.seed)
        xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
        best_acc, best_state, stale, history = -1.0, None, 0, []
        for epoch in ctx.progress(range(config.epochs), total=config.epochs, description="training"):
            model.train()
            order = torch.randperm(len(xt), generator=gen)
            total = 0.0
            for start in range(0, len(xt), config.batch_size):
                idx = order[start : start + config.batch_size]
                loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            val_acc = float((_predict(model, x_val).argmax(1) == y_val).mean())
            history.append({"epoch": epoch, "train_loss": total / len(xt), "val_accuracy": val_acc})
            if val_acc > best_acc:
                best_acc, stale = val_acc, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                stale += 1
                if stale >= config.patience:
                    break
        assert best_state is not None
        model.load_state_dict(best_state)
        pred = _predict(model, x_test).argmax(1)
        metrics = {
            "test_accuracy": float((pred == y_test).mean()),
            "test_macro_f1": float(f1_score(y_test, pred, average="macro")),
            "val_accuracy": best_acc,
            "epochs_trained": len(history),
        }
        _save_model(ctx, model, config)
        ctx.run.write_json("history.json", history)
        ctx.run.save_figure(_confusion_plot(confusion_matrix(y_test, pred)), "confusion_matrix.png")
        return Report(
            metrics=metrics,
            summary=f"8x8 digits: {len(x_train)} train, {len(x_val)} val, {len(x_test)} test samples.",
            figures=[Figure("Confusion matrix (test split)", "confusion_matrix.png")],
        )

    def predictor(self, run_dir: str | os.PathLike[str]) -> DigitsPredictor:
        """Load the trained classifier from a verified run folder."""
        return DigitsPredictor(run_dir)


def _build(hidden: int, dropout: float) -> Any:
    import torch

    return torch.nn.Sequential(
        torch.nn.Linear(64, hidden), torch.nn.SiLU(), torch.nn.Dropout(dropout), torch.nn.Linear(hidden, 10)
    )


def _predict(model: Any, x: Any) -> Any:
    import torch

    model.eval()
    with torch.no_grad():
        return torch.softmax(model(torch.as_tensor(x)), dim=1).numpy()


def _save_model(ctx: RunContext, model: Any, config: DigitsConfig) -> None:
    from safetensors.torch import save_file

    with ctx.run.writing("model.safetensors") as tmp:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
    ctx.run.write_json("model.json", {"hidden": config.hidden, "dropout": config.dropout})


def _confusion_plot(matrix: Any) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), value in __import__("numpy").ndenumerate(matrix):
        ax.text(j, i, str(value), ha="center", va="center", fontsize=7)
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    return fig


class DigitsPredictor:
    """Serve the digits classifier: each record has ``pixels``, 64 values in 0..16."""

    def __init__(self, run_dir: str | os.PathLike[str]) -> None:
        from safetensors.torch import load_file

        from seek.runs import load_run

        run = load_run(run_dir)
        spec = run.read_json("model.json")
        self.model = _build(spec["hidden"], spec["dropout"])
        self.model.load_state_dict(load_file(str(run.file("model.safetensors"))))

    def predict(self, batch: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Return the digit and class probabilities for each record."""
        import numpy as np

        from seek.errors import DataError

        rows = []
        for i, record in enumerate(batch):
            pixels = record.get("pixels")
            if not isinstance(pixels, (list, tuple)) or len(pixels) != 64:
                raise DataError(f"record {i}: field 'pixels' must be a list of 64 numbers")
            rows.append(pixels)
        probs = _predict(self.model, np.asarray(rows, dtype=np.float32) / 16.0)
        return [
            {"label": int(p.argmax()), "probabilities": {str(k): float(v) for k, v in enumerate(p)}} for p in probs
        ]
