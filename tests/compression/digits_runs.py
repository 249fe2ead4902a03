"""Helper for compression tests: a sealed quickstart-digits run folder written in milliseconds."""

from __future__ import annotations

from pathlib import Path


def untrained_digits_run(folder: Path) -> Path:
    """A sealed quickstart-digits run folder holding an untrained classifier (milliseconds to write)."""
    import torch

    from seek.apps.digits import DigitsConfig, model_config
    from seek.artifacts import ArtifactWriter
    from seek.models import SeekTransformer
    from seek.runs import RunFolder

    torch.manual_seed(0)
    config = DigitsConfig(dropout=0.0)
    run = RunFolder(folder)
    run.write_json("config.json", config.model_dump(mode="json"))
    run.write_json("run.json", {"app": "quickstart-digits", "seed": 0, "status": "finished"})
    run.write_json("metrics.json", {})
    ArtifactWriter(run).save_seek_model("classifier", SeekTransformer(model_config(config)).eval())
    run.seal()
    return folder
