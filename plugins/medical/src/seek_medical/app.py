"""``medical-nodule``: lung-nodule detection in CT — simulate DICOM studies, train the 3D attention CNN, FROC.

Built-in data: phantom studies (:mod:`seek_medical.simulate`); training renders them on the model's
isotropic grid and simulates scan parameters on the fly, held-out studies go the whole clinical path
(written as DICOM, read back, resampled with SimpleITK, detected, refined by the CRF, scored as in
LUNA16). With ``--data STUDY`` (a folder or zip of one CT series) the run detects nodules in that study
with the shipped weights (or ``model_dir``'s) and writes findings.json and overlays.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar, Literal

from pydantic import Field

from seek.app import App, AppConfig, Report, RunContext, TuneSpec
from seek.artifacts import ArtifactSpec
from seek.data.spec import DataInput, DataSpec
from seek_medical.augment import AugmentConfig
from seek_medical.crf import CRFConfig


class SimulationConfig(AppConfig):
    """The built-in synthetic studies (ignored with --data)."""

    train_studies: int = Field(48, ge=1, le=5000, description="Phantom studies rendered for training.")
    val_patches: int = Field(48, ge=2, le=20000, description="Fixed validation patches (from their own studies).")
    val_studies: int = Field(4, ge=1, le=1000, description="Studies the validation patches come from.")
    test_studies: int = Field(16, ge=0, le=1000, description="Held-out studies evaluated through DICOM (0: none).")
    fov_mm: float = Field(160.0, ge=48, le=500, description="Field of view (torso scaled to fit; nodules real size).")
    train_fov_mm: tuple[float, float] | None = Field(
        None, description="Draw each training study's field of view from this range (default: fov_mm)."
    )
    z_extent_mm: float = Field(48.0, ge=12, le=400, description="Scanned length along z (mm).")
    nodules_per_study: tuple[int, int] = Field((2, 6), description="Nodules per study (min, max).")
    diameter_mm: tuple[float, float] = Field((2.0, 30.0), description="Nodule diameter range (mm).")
    thickness_mm: tuple[float, float] = Field((0.625, 5.0), description="Slice thickness range of test studies.")


class ModelConfig(AppConfig):
    """The 3D attention CNN."""

    width: int = Field(8, ge=2, le=128, description="Channels of the first stage (doubling per stage).")
    levels: int = Field(3, ge=1, le=5, description="Stride-2 encoder stages (attention in each).")
    attention: bool = Field(True, description="Channel + spatial 3D attention in every encoder stage.")


class TrainConfig(AppConfig):
    """Patch training with the core Trainer."""

    epochs: int = Field(30, ge=1, le=1000, description="Epochs (samples_per_epoch fresh patches each).")
    samples_per_epoch: int = Field(512, ge=2, le=10_000_000, description="Patches drawn per epoch.")
    batch_size: int = Field(8, ge=1, le=1024, description="Patches per micro-batch.")
    patch: int = Field(32, ge=16, le=256, description="Patch side in voxels (multiple of 16).")
    lr: float = Field(3e-3, gt=0, le=1.0, description="Peak learning rate (AdamW, warmup + cosine).")
    weight_decay: float = Field(1e-4, ge=0, le=1.0, description="AdamW weight decay.")
    precision: Literal["fp32", "bf16", "fp16"] = Field("fp32", description="Mixed precision (bf16 on GPU).")
    patience: int = Field(100, ge=1, description="Early stopping: epochs without val_loss improvement.")
    nodule_share: float = Field(0.5, ge=0, le=1, description="Share of patches centred near a nodule.")
    hard_share: float = Field(0.3, ge=0, le=1, description="Share centred on hard negatives (vessels, walls).")
    checkpoint_every_steps: int = Field(0, ge=0, description="Also checkpoint every N steps (0: per epoch).")


class DetectConfig(AppConfig):
    """Whole-volume inference."""

    spacing_mm: float = Field(1.25, ge=0.3, le=4.0, description="Isotropic spacing the model works at (mm).")
    window: int = Field(64, ge=16, le=512, description="Sliding-window side (voxels, a multiple of 16).")
    overlap: float = Field(0.25, ge=0, lt=0.9, description="Overlap between windows.")
    threshold: float = Field(0.05, gt=0, lt=1, description="Lowest heat-map peak kept as a candidate.")
    max_candidates: int = Field(30, ge=1, le=1000, description="Candidates kept per study.")
    lung_filter: bool = Field(True, description="Drop candidates farther than 3 mm from the segmented lungs.")


class NoduleConfig(AppConfig):
    """Settings of the medical-nodule run."""

    simulation: SimulationConfig = Field(default_factory=SimulationConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    detect: DetectConfig = Field(default_factory=DetectConfig)
    crf: CRFConfig = Field(default_factory=CRFConfig)
    series: str | None = Field(None, description="SeriesInstanceUID to read when --data holds several series.")
    model_dir: str | None = Field(
        None, description="With --data: a run folder whose detector to use (default: shipped)."
    )
    threads: int = Field(2, ge=1, le=256, description="CPU threads for torch.")


def read_study(data: DataInput) -> Any:
    """The DataSpec reader: the study's CT series as a Volume (every check of seek_medical.dicom applied)."""
    from seek_medical.dicom import read_series

    return read_series(data.path)


class NoduleApp(App[NoduleConfig]):
    """Detect lung nodules in CT: DICOM in, findings in patient millimetres out."""

    name: ClassVar[str] = "medical-nodule"
    summary: ClassVar[str] = "Lung-nodule detection in CT (DICOM): 3D attention CNN, dense CRF, LUNA16 FROC."
    Config: ClassVar[type[AppConfig]] = NoduleConfig
    tiny: ClassVar[dict[str, Any]] = {
        "simulation": {
            "train_studies": 2,
            "val_patches": 4,
            "val_studies": 1,
            "test_studies": 1,
            "fov_mm": 96.0,
            "z_extent_mm": 24.0,
            "diameter_mm": (3.0, 12.0),
        },
        "model": {"width": 4, "levels": 2},
        "train": {"epochs": 2, "samples_per_epoch": 8, "batch_size": 4, "patch": 16},
        "detect": {"spacing_mm": 1.5, "window": 32},
        "crf": {"iterations": 2},
    }
    data: ClassVar[DataSpec | None] = DataSpec(
        inputs=frozenset({"folder", "zip"}), builtin="simulation", reader=read_study
    )
    tune: ClassVar[TuneSpec | None] = TuneSpec(
        params={"lr": "train.lr", "weight_decay": "train.weight_decay", "batch_size": "train.batch_size"},
        metric="val_loss",
        direction="minimize",
        space={"lr": "5e-4:1e-2"},
    )
    artifacts: ClassVar[tuple[ArtifactSpec, ...]] = (
        ArtifactSpec("detector", "torch-module", "3D attention CNN: CT patch -> heat, offset, size, nodule maps"),
    )
    headline: ClassVar[tuple[str, ...]] = (
        "froc_cpm",
        "sensitivity_at_0_8_fp",
        "sensitivity_at_1_fp",
        "mean_localisation_error_mm",
        "dice_crf",
        "dice_no_crf",
    )

    def run(self, config: NoduleConfig, ctx: RunContext) -> Report:
        """Simulate, train, evaluate on held-out DICOM studies — or detect in the user's study."""
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(config.threads)
        try:
            if ctx.data is not None:
                from seek_medical.study_run import detect_user_study

                return detect_user_study(config, ctx)
            from seek_medical.training import train_and_evaluate

            return train_and_evaluate(config, ctx)
        finally:
            torch.set_num_threads(previous)

    def predictor(self, run_dir: str | os.PathLike[str]) -> Any:
        """The study predictor of a finished run (a study folder or zip per record, findings out)."""
        from seek_medical.serve import NodulePredictor

        return NodulePredictor.from_run(run_dir)

    def example_records(self, run_dir: str | os.PathLike[str], n: int = 4) -> list[dict[str, Any]]:
        """``n`` small synthetic studies written as DICOM folders in a temporary directory."""
        import tempfile

        from seek_medical.simulate import simulate_study, write_study

        root = tempfile.mkdtemp(prefix="seek-medical-examples-")
        records = []
        for index in range(n):
            study = simulate_study(
                10_000 + index, fov_mm=64.0, z_extent=16.0, nodules=(1, 2), diameter_range=(4.0, 10.0)
            )
            folder = os.path.join(root, f"study-{index}")
            write_study(study, folder)
            records.append({"study": folder})
        return records
