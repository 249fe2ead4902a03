"""Knowledge distillation into a Seek student about 1/10 of the teacher's parameters.

Classification: ``alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T)) + (1 - alpha) * CE(student, y)``.
Regression: ``alpha * MSE(student, teacher) + (1 - alpha) * MSE(student, y)`` (distilled on the teacher's
predictions). The teacher's outputs are computed once, in eval mode, and travel with each batch as
``batch["teacher"]``, so the core Trainer runs the loop unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from seek.compression.data import CompressionData
from seek.errors import ConfigError, RunError


def count(config: Any) -> int:
    """Parameters of a Seek model with ``config``, counted without allocating its weights."""
    import torch

    from seek.models import SeekTransformer

    with torch.device("meta"):
        return SeekTransformer(config).num_parameters()


def student_config(
    teacher: Any, ratio: float = 0.1, hidden_size: int | None = None, num_layers: int | None = None
) -> Any:
    """The teacher's Seek config shrunk in width and depth to about ``ratio`` of its parameters.

    ``hidden_size``/``num_layers`` fix a dimension instead of searching it. A student that is not
    smaller than the teacher is refused.
    """
    cfg = teacher.config
    teacher_params = count(cfg)
    heads = [h for h in sorted({cfg.num_heads, 4, 2, 1}) if h <= cfg.num_heads]
    candidates = []
    for layers in [num_layers] if num_layers else range(1, cfg.num_layers + 1):
        for h in heads:
            widths = [hidden_size] if hidden_size else _widths(h, cfg.hidden_size)
            for width in widths:
                if width % h:
                    continue
                candidate = cfg.replace(hidden_size=width, num_layers=layers, num_heads=h)
                candidates.append((abs(count(candidate) / teacher_params - ratio), -layers, -h, candidate))
    if not candidates:
        raise ConfigError(f"--set student.hidden_size={hidden_size}: not divisible by any head count {heads}")
    student = min(candidates, key=lambda c: c[:3])[3]
    student_params = count(student)
    if student_params >= teacher_params:
        raise ConfigError(
            f"distill: the student ({student_params:,} parameters, hidden_size={student.hidden_size}, "
            f"num_layers={student.num_layers}) is not smaller than the teacher ({teacher_params:,})"
        )
    return student


def _widths(heads: int, teacher_width: int) -> list[int]:
    step = max(heads, (teacher_width // 64) // heads * heads)
    return list(range(heads, teacher_width + 1, step))


def distillation_loss(head: str, temperature: float, alpha: float) -> Callable[[Any, dict[str, Any]], Any]:
    """The Trainer loss ``(student_outputs, batch) -> loss`` for a classification or regression head."""
    import torch.nn.functional as F

    if head == "classification":

        def classification(outputs: Any, batch: dict[str, Any]) -> Any:
            t = temperature
            soft = F.kl_div(
                F.log_softmax(outputs.float() / t, dim=-1),
                F.softmax(batch["teacher"].float() / t, dim=-1),
                reduction="batchmean",
            )
            hard = F.cross_entropy(outputs.float(), batch["y"].long().reshape(-1))
            return alpha * t * t * soft + (1 - alpha) * hard

        return classification
    if head == "regression":

        def regression(outputs: Any, batch: dict[str, Any]) -> Any:
            target = batch["y"].float().reshape(outputs.shape)
            return alpha * F.mse_loss(outputs.float(), batch["teacher"].float()) + (1 - alpha) * F.mse_loss(
                outputs.float(), target
            )

        return regression
    raise RunError(f"--method distill: head {head!r} (layer 'head') is not supported; classification or regression")


def distill(
    teacher: Any,
    data: CompressionData,
    student_cfg: Any,
    trainer_config: Any,
    temperature: float = 2.0,
    alpha: float = 0.7,
) -> Any:
    """Train a fresh student of ``student_cfg`` on the teacher's outputs with the core Trainer."""
    import torch

    from seek.compression.measure import outputs
    from seek.models import SeekTransformer
    from seek.training import Trainer

    teacher = teacher.cpu().eval()
    train, val = dict(data.train), dict(data.val)
    train["teacher"] = outputs(teacher, train["x"], train.get("mask"))
    val["teacher"] = outputs(teacher, val["x"], val.get("mask"))
    torch.manual_seed(trainer_config.seed)
    student = SeekTransformer(student_cfg)
    loss = distillation_loss(student_cfg.head, temperature, alpha)
    trainer = Trainer(student, trainer_config, loss_fn=loss, device="cpu", progress=False)
    trainer.fit(train, val)
    return student.eval()
