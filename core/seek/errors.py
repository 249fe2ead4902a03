"""Exceptions users can read: one class per kind of user error; the CLI prints them as one line."""

from __future__ import annotations


class SeekError(Exception):
    """A user-facing error: the CLI shows its message as one line and exits with ``exit_code``."""

    exit_code = 1


class ConfigError(SeekError):
    """A configuration value or file is wrong (unknown key, wrong type, out of range, bad syntax)."""

    exit_code = 2


class DataError(SeekError):
    """Input data is malformed: the message names the file, row and field."""

    exit_code = 1


class PluginError(SeekError):
    """A plugin is missing, broken or conflicts with another plugin."""

    exit_code = 1


class RunError(SeekError):
    """A run folder is missing, unusable or fails its integrity check."""

    exit_code = 1


class IntegrityError(RunError):
    """A file in a run folder does not match the sha256 recorded in its manifest."""
