"""Every hook specification has at least one test that exercises it (datasette's rule)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from seek import hookspecs

ROOTS = [Path(__file__).parent, Path(__file__).parents[1] / "plugins"]


def _hookspec_names() -> set[str]:
    return {name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, "seek_spec")}


def _tested_hooks() -> set[str]:
    found: set[str] = set()
    for root in ROOTS:
        for path in root.rglob("test_*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.FunctionDef) and node.name.startswith("test_hook_"):
                    found.update(name for name in _hookspec_names() if node.name.startswith(f"test_hook_{name}"))
    return found


def test_every_hookspec_has_a_test_named_for_it():
    specs = _hookspec_names()
    assert specs >= {"seek_apps", "seek_commands"}
    missing = specs - _tested_hooks()
    assert not missing, f"hooks without a test_hook_<name>_... test: {sorted(missing)}"
