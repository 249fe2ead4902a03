"""Seek logistics vertical: delivery-time prediction updated quarter by quarter (``seek run logistics-eta``)."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
