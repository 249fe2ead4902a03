"""The student config and the distillation losses."""

from __future__ import annotations

import pytest
import torch

from seek.compression.distill import count, distillation_loss, student_config
from seek.errors import ConfigError, RunError
from seek.models import SeekConfig, SeekTransformer


def _teacher() -> SeekTransformer:
    cfg = SeekConfig.preset(
        "tiny", input_type="dense", input_dim=8, num_outputs=10, hidden_size=64, num_heads=4, max_len=8, segment_size=4
    )
    return SeekTransformer(cfg)


def test_student_is_about_a_tenth_of_the_teacher():
    teacher = _teacher()
    student = student_config(teacher, 0.1)
    ratio = count(student) / teacher.num_parameters()
    assert 0.06 < ratio < 0.14
    assert student.hidden_size % student.num_heads == 0


def test_a_student_larger_than_the_teacher_is_refused():
    with pytest.raises(ConfigError, match="not smaller than the teacher"):
        student_config(_teacher(), 0.1, hidden_size=128, num_layers=2)


def test_classification_loss_is_zero_kl_when_student_equals_teacher_and_alpha_is_one():
    logits = torch.randn(6, 10)
    batch = {"teacher": logits.clone(), "y": torch.randint(0, 10, (6,))}
    assert float(distillation_loss("classification", 2.0, 1.0)(logits, batch)) == pytest.approx(0.0, abs=1e-6)
    assert float(distillation_loss("classification", 2.0, 0.0)(logits, batch)) > 0


def test_regression_distils_on_teacher_predictions():
    outputs = torch.zeros(4, 1)
    batch = {"teacher": torch.ones(4, 1), "y": torch.zeros(4)}
    assert float(distillation_loss("regression", 1.0, 1.0)(outputs, batch)) == pytest.approx(1.0)
    assert float(distillation_loss("regression", 1.0, 0.0)(outputs, batch)) == pytest.approx(0.0)


def test_token_head_is_not_applicable():
    with pytest.raises(RunError, match="head 'token'"):
        distillation_loss("token", 2.0, 0.5)
