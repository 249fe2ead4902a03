"""TorchScript tracing kept only when it gives the eager outputs; otherwise eager with a logged reason."""

from __future__ import annotations

import logging

import pytest

torch = pytest.importorskip("torch")

from seek.tracing import trace_checked  # noqa: E402


class _Small(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 2)

    def forward(self, x, mask):
        return self.linear(x * mask[..., None]).sum(dim=1)


class _Branchy(torch.nn.Module):
    """Data-dependent control flow: a trace freezes the branch taken by the first example."""

    def forward(self, x, mask):
        if bool(mask.all()):
            return x.sum(dim=1)
        return -x.sum(dim=1)


def _examples():
    x = torch.randn(1, 3, 4, generator=torch.Generator().manual_seed(0))
    full = torch.ones(1, 3, dtype=torch.bool)
    partial = torch.tensor([[False, True, True]])
    return [(x, full), (x, partial)]


def test_an_equivalent_trace_is_kept() -> None:
    model = _Small()
    result = trace_checked(model, _examples())
    assert result.traced and result.reason == ""
    x, mask = _examples()[1]
    assert torch.allclose(result.module(x, mask), model(x, mask))


def test_a_trace_that_differs_falls_back_to_eager_and_logs_why(caplog) -> None:
    model = _Branchy()
    with caplog.at_level(logging.INFO, logger="seek.tracing"):
        result = trace_checked(model, _examples())
    assert not result.traced and result.module is model
    assert "example 1" in result.reason and "eager" in caplog.text


def test_a_module_that_cannot_be_traced_falls_back_to_eager() -> None:
    class _Text(torch.nn.Module):
        def forward(self, x, mask):
            return {"text": "not a tensor"}

    result = trace_checked(_Text(), _examples())
    assert not result.traced and "tracing failed" in result.reason


def test_no_examples_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        trace_checked(_Small(), [])
