"""TorchScript tracing with an equivalence check: a faster module for fixed-shape serving, or the eager one.

``trace_checked(model, examples)`` traces and freezes ``model`` on the first example, then runs every
example through both; the trace is kept only if each output matches the eager model's within the
tolerance. Otherwise (or when tracing raises) the eager model is returned and the reason is logged, so a
predictor is never silently different from the model it was trained as.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("seek.tracing")


@dataclass
class TraceResult:
    """The module to serve with, whether it is the trace, and why not when it is the eager model."""

    module: Any
    traced: bool
    reason: str = ""


def trace_checked(
    model: Any, examples: Sequence[tuple[Any, ...]], atol: float = 1e-5, rtol: float = 1e-5, freeze: bool = True
) -> TraceResult:
    """Trace ``model`` (eval mode) on ``examples[0]`` and keep the trace if every example gives the eager outputs."""
    import torch

    if not examples:
        raise ValueError("trace_checked needs at least one example input")
    model.eval()
    try:
        # Input checks become constants in a trace (shapes are fixed), and torch.jit is deprecated in favour
        # of torch.compile, whose start-up cost does not suit a predictor: these warnings are expected.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(model, tuple(examples[0]), check_trace=False)  # type: ignore[no-untyped-call]
            if freeze:
                traced = torch.jit.freeze(traced)
            for i, example in enumerate(examples):
                want, got = model(*example), traced(*example)
                if not _close(want, got, atol, rtol):
                    return _eager(model, f"example {i}: traced outputs differ from the eager model's")
    except (RuntimeError, TypeError, ValueError, torch.jit.Error) as exc:  # tracing unsupported code paths
        return _eager(model, f"tracing failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})")
    return TraceResult(traced, True)


def _close(want: Any, got: Any, atol: float, rtol: float) -> bool:
    import torch

    if isinstance(want, torch.Tensor):
        return (
            isinstance(got, torch.Tensor)
            and want.shape == got.shape
            and torch.allclose(want, got, atol=atol, rtol=rtol)
        )
    if isinstance(want, (tuple, list)):
        return (
            isinstance(got, (tuple, list))
            and len(want) == len(got)
            and all(_close(a, b, atol, rtol) for a, b in zip(want, got, strict=True))
        )
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and want.keys() == got.keys()
            and all(_close(want[k], got[k], atol, rtol) for k in want)
        )
    return bool(want == got)


def _eager(model: Any, reason: str) -> TraceResult:
    logger.info("serving the eager model, not a TorchScript trace: %s", reason)
    return TraceResult(model, False, reason)
