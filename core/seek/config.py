"""Resolve an app's Config from defaults, a TOML/YAML/JSON file and ``--set key=value`` overrides."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from seek.errors import ConfigError

C = TypeVar("C", bound=BaseModel)


def load_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a .toml, .yaml/.yml or .json file into a dict, with one-line errors."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc})") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise ConfigError(f"{path}: unsupported config format {suffix!r} (use .toml, .yaml or .json)")
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - every parser has its own error class; all mean bad syntax
        mark = getattr(exc, "problem_mark", None)  # YAML keeps line:column on a mark, not in its first line
        first = (
            f"line {mark.line + 1}, column {mark.column + 1}: {getattr(exc, 'problem', None) or 'bad syntax'}"
            if mark is not None
            else str(exc).strip().splitlines()[0]
            if str(exc).strip()
            else type(exc).__name__
        )
        raise ConfigError(f"{path}: invalid {suffix[1:].upper()} syntax: {first}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a table of keys, got {type(data).__name__}")
    return data


def parse_value(text: str) -> Any:
    """Parse a ``--set`` value: JSON literals (numbers, true/false, null, lists, quoted strings) or a bare string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_overrides(pairs: Iterable[str]) -> dict[str, Any]:
    """Turn ``["a.b=1", "c=x"]`` into ``{"a": {"b": 1}, "c": "x"}``."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {pair!r}: expected key=value")
        node = result
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {pair!r}: {part!r} is set to a value and also used as a table")
            node = child
        node[parts[-1]] = parse_value(raw)
    return result


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``update`` into a copy of ``base``, recursing into nested tables."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _lookup(data: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        if (isinstance(data, Mapping) and part in data) or (
            isinstance(data, (list, tuple)) and isinstance(part, int) and part < len(data)
        ):
            data = data[part]
        else:
            return None
    return data


def _short(value: Any) -> str:
    """The value as the message shows it: repr, cut to 80 characters (a YAML alias bomb stays one short line)."""
    import reprlib

    shortener = reprlib.Repr()
    shortener.maxstring, shortener.maxother, shortener.maxlist, shortener.maxdict = 60, 60, 6, 6
    text = shortener.repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def format_validation_error(exc: ValidationError, given: Mapping[str, Any]) -> str:
    """One line per the first problem: the key, the value given and what was expected."""
    error = exc.errors()[0]
    loc = tuple(part for part in error["loc"] if not (isinstance(part, str) and "[" in part))
    key = ".".join(str(part) for part in loc) or "(config)"
    if error["type"] == "extra_forbidden":
        return f"config key {key!r}: unknown key (given {_short(_lookup(given, loc))})"
    if error["type"] == "missing":
        return f"config key {key!r}: required but not given"
    value = _short(_lookup(given, loc))
    more = f" (and {len(exc.errors()) - 1} more problems)" if len(exc.errors()) > 1 else ""
    return f"config key {key!r}: got {value}; expected {error['msg'][0].lower()}{error['msg'][1:]}{more}"


def config_defaults(config_cls: type[BaseModel]) -> dict[str, Any]:
    """The defaults of ``config_cls`` as a nested dict (empty when some field has no default)."""
    try:
        return config_cls().model_dump()
    except ValidationError:
        return {}


def resolve_config(
    config_cls: type[C],
    file: str | os.PathLike[str] | None = None,
    overrides: Iterable[str] = (),
    base: Mapping[str, Any] | None = None,
    updates: Mapping[str, Any] | None = None,
) -> C:
    """Build ``config_cls`` from ``base`` (e.g. tiny overrides), then ``file``, then ``--set`` pairs, then
    ``updates`` (already-typed values such as ``--data``/``--map``)."""
    # Nested values merge into the defaults: `--set lgbm.num_leaves=7` keeps every other default of `lgbm`.
    data: dict[str, Any] = deep_merge(config_defaults(config_cls), base or {})
    if file is not None:
        data = deep_merge(data, load_config_file(file))
    data = deep_merge(data, parse_overrides(overrides))
    data = deep_merge(data, updates or {})
    try:
        return config_cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, data)) from None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def dump_toml(data: Mapping[str, Any]) -> str:
    """Write a nested dict as TOML (tables for nested dicts; ``None`` values are left out)."""
    lines: list[str] = []
    tables: list[tuple[str, Mapping[str, Any]]] = []

    def emit(prefix: str, table: Mapping[str, Any]) -> None:
        for key, value in table.items():
            if isinstance(value, Mapping):
                tables.append((f"{prefix}{key}", value))
            elif value is not None:
                lines.append(f"{key} = {_toml_value(value)}")

    emit("", data)
    while tables:
        name, table = tables.pop(0)
        lines += ["", f"[{name}]"]
        emit(f"{name}.", table)
    return "\n".join(lines) + "\n"
