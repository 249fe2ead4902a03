"""Seek: a domain SDK to train, compress, serve and watch deep-learning models.

The public names are imported on first use (PEP 562), so ``seek --help`` never imports pydantic or
builds an App: only ``hookimpl`` (which plugins need at import) is defined eagerly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

from seek.errors import ConfigError, DataError, IntegrityError, PluginError, RunError, SeekError

if TYPE_CHECKING:
    from seek.app import App, AppConfig, Figure, Predictor, Report, TuneSpec
    from seek.context import RunContext

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("seek")

_LAZY = {
    "App": "seek.app",
    "AppConfig": "seek.app",
    "Figure": "seek.app",
    "Predictor": "seek.app",
    "Report": "seek.app",
    "TuneSpec": "seek.app",
    "RunContext": "seek.context",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'seek' has no attribute {name!r}")


__all__ = [
    "App",
    "AppConfig",
    "ConfigError",
    "DataError",
    "Figure",
    "IntegrityError",
    "PluginError",
    "Predictor",
    "Report",
    "RunContext",
    "RunError",
    "SeekError",
    "TuneSpec",
    "__version__",
    "hookimpl",
]
