"""Seek medical vertical: CT lung-nodule detection from DICOM (``seek run medical-nodule``, ``seek medical detect``)."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
