"""Seek: a domain SDK to train, compress, serve and watch deep-learning models."""

from __future__ import annotations

import pluggy

from seek.app import App, AppConfig, Figure, Predictor, Report, RunContext
from seek.errors import ConfigError, DataError, IntegrityError, PluginError, RunError, SeekError

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("seek")

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
    "__version__",
    "hookimpl",
]
