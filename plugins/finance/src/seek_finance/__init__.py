"""Seek finance vertical: card-fraud scoring (``seek run finance-fraud``)."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
