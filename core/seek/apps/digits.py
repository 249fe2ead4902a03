"""``quickstart-digits``: the reference app a new domain copies (scikit-learn's bundled 8x8 digits).

Each image is read as a sequence of its 8 pixel rows (8 features each) by the Seek transformer's dense
adapter, trained with the core Trainer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from seek.app import App, AppConfig, Figure, Report, TuneSpec
from seek.artifacts import ArtifactSpec
from seek.context import RunContext

if TYPE_CHECKING:
    from seek.compression import CompressionData
    from seek.runs import VerifiedRun

ROWS, COLS = 8, 8


class DigitsConfig(AppConfig):
    """Settings of the quickstart-digits run."""

    epochs: int = Field(40, ge=1, le=1000, description="Training epochs (early stopping may end sooner).")
    batch_size: int = Field(32, ge=1, le=4096, description="Samples per micro-batch.")
    accumulation_steps: int = Field(1, ge=1, le=64, description="Micro-batches per optimiser step.")
    lr: float = Field(2e-3, gt=0, le=1.0, description="Peak learning rate (AdamW, warmup + cosine).")
    weight_decay: float = Field(0.01, ge=0, le=1.0, description="AdamW weight decay.")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout probability.")
    hidden_size: int = Field(64, ge=8, le=4096, description="Transformer width.")
    num_layers: int = Field(2, ge=1, le=48, description="Transformer blocks.")
    num_heads: int = Field(4, ge=1, le=64, description="Attention heads (must divide hidden_size).")
    precision: Literal["fp32", "bf16", "fp16"] = Field("fp32", description="Mixed precision mode.")
    patience: int = Field(6, ge=1, description="Early stopping: epochs without val_accuracy improvement.")
    checkpoint_every_steps: int = Field(0, ge=0, description="Also checkpoint every N optimiser steps (0: per epoch).")
    threads: int = Field(
        1,
        ge=1,
        le=256,
        description="CPU threads for torch: the 8-row model is too small to "
        "gain from more, and extra threads spin on a busy machine (measured 8x slower).",
    )
    val_fraction: float = Field(0.15, gt=0, lt=0.5, description="Share of samples for validation.")
    test_fraction: float = Field(0.2, gt=0, lt=0.5, description="Share of samples held out for the test.")


class DigitsApp(App[DigitsConfig]):
    """Classify 8x8 handwritten digits with the Seek transformer; trains in well under a minute on a CPU."""

    name: ClassVar[str] = "quickstart-digits"
    summary: ClassVar[str] = "Classify scikit-learn's bundled 8x8 handwritten digits (the reference app)."
    Config: ClassVar[type[AppConfig]] = DigitsConfig
    tiny: ClassVar[dict[str, Any]] = {"epochs": 2}
    tune: ClassVar[TuneSpec | None] = TuneSpec(
        params={"lr": "lr", "weight_decay": "weight_decay", "dropout": "dropout", "batch_size": "batch_size"},
        metric="val_accuracy",
        # The guide's 1e-5..5e-5 suits fine-tuning a pretrained model; this one trains from scratch.
        space={"lr": "3e-4:5e-3"},
    )
    artifacts: ClassVar[tuple[ArtifactSpec, ...]] = (
        ArtifactSpec("classifier", "seek-transformer", "the digit classifier (8 rows of 8 pixels in, 10 logits out)"),
    )
    headline: ClassVar[tuple[str, ...]] = ("test_accuracy", "test_macro_f1", "val_accuracy", "epochs_trained")

    def run(self, config: DigitsConfig, ctx: RunContext) -> Report:
        """Split, train, evaluate on the test split and write model + confusion matrix."""
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(config.threads)
        try:
            return self._run(config, ctx)
        finally:
            torch.set_num_threads(previous)

    def _run(self, config: DigitsConfig, ctx: RunContext) -> Report:
        import numpy as np
        from sklearn.metrics import confusion_matrix, f1_score

        from seek.models import SeekTransformer

        with ctx.stage("load"):
            splits = load_splits(config, ctx.seed)
            # the drift reference, as served records ("pixels", 0..16) so serving compares like with like
            ctx.reference({"pixels": row} for row in (splits["train"]["x"].reshape(-1, ROWS * COLS) * 16).tolist())
        model = SeekTransformer(model_config(config))
        trainer = ctx.trainer(model, trainer_config(config, ctx))
        with ctx.stage("train"):
            fit = trainer.fit(splits["train"], splits["val"], resume=ctx.resume)
        with ctx.stage("evaluate"):
            logits = trainer.predict(splits["test"])
        pred = logits.argmax(dim=-1).cpu().numpy()
        y_test = splits["test"]["y"].numpy()
        ctx.artifacts.save_seek_model("classifier", model)
        ctx.run.save_figure(_confusion_plot(confusion_matrix(y_test, pred)), "confusion_matrix.png")
        metrics = {
            "test_accuracy": float((pred == y_test).mean()),
            "test_macro_f1": float(f1_score(y_test, pred, average="macro")),
            "val_accuracy": float(fit.best_metric if fit.best_metric is not None else np.nan),
            "epochs_trained": len(fit.history),
            "parameters": model.num_parameters(),
        }
        sizes = {name: len(split["y"]) for name, split in splits.items()}
        return Report(
            metrics=metrics,
            summary=(
                f"8x8 digits read as 8 rows of 8 pixels by a {config.num_layers}-layer Seek transformer "
                f"({metrics['parameters']:,} parameters); {sizes['train']} train, {sizes['val']} val, "
                f"{sizes['test']} test samples; best epoch {fit.best_epoch}."
            ),
            figures=[
                Figure("Confusion matrix (test split)", "confusion_matrix.png"),
                Figure("Loss curves", "loss_curve.png"),
            ],
        )

    def predictor(self, run_dir: str | os.PathLike[str]) -> DigitsPredictor:
        """Load the trained classifier from a verified run folder."""
        return DigitsPredictor(run_dir)

    def compression_data(self, run: VerifiedRun, role: str) -> CompressionData:
        """The run's own train/val/test split (rebuilt from its config and seed) and its test metrics."""
        from seek.compression import CompressionData

        config = DigitsConfig.model_validate(run.config)
        splits = load_splits(config, int(run.read_json("run.json")["seed"]))
        return CompressionData(
            "classifier", splits["train"], splits["val"], splits["test"], digit_metrics, "test_accuracy"
        )

    def example_records(self, run_dir: str | os.PathLike[str], n: int = 4) -> list[dict[str, Any]]:
        """The first ``n`` bundled digits as predictor records."""
        from sklearn.datasets import load_digits

        return [{"pixels": row.tolist()} for row in load_digits().data[:n]]


def digit_metrics(logits: Any, y: Any) -> dict[str, float]:
    """Accuracy and macro F1 of (N, 10) logits against the true digits."""
    from sklearn.metrics import f1_score

    pred = logits.argmax(dim=-1).cpu().numpy()
    truth = y.cpu().numpy()
    return {
        "test_accuracy": float((pred == truth).mean()),
        "test_macro_f1": float(f1_score(truth, pred, average="macro")),
    }


def model_config(config: DigitsConfig) -> Any:
    """The Seek transformer for 8 rows x 8 pixels, 10 classes."""
    from seek.models import SeekConfig

    return SeekConfig.preset(
        "tiny",
        input_type="dense",
        input_dim=COLS,
        head="classification",
        num_outputs=10,
        hidden_size=config.hidden_size,
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        dropout=config.dropout,
        segment_size=4,
        max_len=ROWS,
    )


def trainer_config(config: DigitsConfig, ctx: RunContext) -> Any:
    """The Trainer settings for a digits run, monitoring validation accuracy."""
    return ctx.trainer_config(
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        weight_decay=config.weight_decay,
        accumulation_steps=config.accumulation_steps,
        precision=config.precision,
        early_stopping_patience=config.patience,
        monitor="val_accuracy",
        mode="max",
        checkpoint_every_steps=config.checkpoint_every_steps,
    )


def load_splits(config: DigitsConfig, seed: int) -> dict[str, dict[str, Any]]:
    """Stratified train/val/test splits of the bundled digits as tensors {x: (N, 8, 8), y: (N,)}."""
    import numpy as np
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32).reshape(-1, ROWS, COLS)
    y = digits.target.astype(np.int64)
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=config.test_fraction, random_state=seed, stratify=y
    )
    val_share = config.val_fraction / (1 - config.test_fraction)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val_share, random_state=seed, stratify=y_rest
    )
    pairs = {"train": (x_train, y_train), "val": (x_val, y_val), "test": (x_test, y_test)}
    return {name: {"x": torch.from_numpy(a), "y": torch.from_numpy(b)} for name, (a, b) in pairs.items()}


def _confusion_plot(matrix: Any) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, str(value), ha="center", va="center", fontsize=7)
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    return fig


class DigitsPredictor:
    """Serve the digits classifier: each record has ``pixels``, 64 values in 0..16 (row by row)."""

    def __init__(self, run_dir: str | os.PathLike[str]) -> None:
        from seek.compression.runtime import load_model
        from seek.runs import load_run

        # the trained Seek model, or what `seek compress` made of it (pruned, INT8, an ONNX graph)
        self.model = load_model(load_run(run_dir), "classifier")

    def predict(self, batch: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Return the digit and class probabilities for each record."""
        import numpy as np
        import torch

        from seek.errors import DataError

        rows = []
        for i, record in enumerate(batch):
            pixels = record.get("pixels")
            if not isinstance(pixels, (list, tuple)) or len(pixels) != ROWS * COLS:
                raise DataError(f"record {i}: field 'pixels' must be a list of 64 numbers")
            rows.append(pixels)
        x = torch.from_numpy(np.asarray(rows, dtype=np.float32).reshape(-1, ROWS, COLS) / 16.0)
        with torch.no_grad():
            probs = torch.softmax(self.model(x).float(), dim=-1).numpy()
        return [{"label": int(p.argmax()), "probabilities": {str(k): float(v) for k, v in enumerate(p)}} for p in probs]
