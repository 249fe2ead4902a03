"""The plugin manager: loads the ``seek`` entry-point group through pluggy, isolating broken plugins."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pluggy

from seek import hookspecs
from seek.errors import PluginError

if TYPE_CHECKING:
    import click

    from seek.app import App

ENTRY_POINT_GROUP = "seek"
DISABLE_ENV = "SEEK_DISABLE_PLUGINS"
ALLOW_ENV = "SEEK_LOAD_PLUGINS"


@dataclass
class PluginRecord:
    """What the listing shows for one plugin: where it comes from, its state and its apps."""

    name: str
    distribution: str
    version: str
    status: str = "ok"  # ok | broken | disabled
    error: str | None = None
    apps: list[str] = field(default_factory=list)
    builtin: bool = False

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _names(value: str | None) -> set[str]:
    return {part.strip() for part in (value or "").split(",") if part.strip()}


#: What a plugin may raise and still leave the CLI working: everything but Ctrl-C. ``sys.exit()`` at import
#: time (SystemExit) or a plugin raising GeneratorExit must not take ``seek --help`` down with it.
_PLUGIN_FAILURES = (Exception, SystemExit, GeneratorExit)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"SystemExit: sys.exit({exc.code!r}) called"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class PluginManager:
    """A typed facade over pluggy: apps, commands and dictionaries, one broken plugin never fatal."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self._pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self._pm.add_hookspecs(hookspecs)
        self._records: dict[str, PluginRecord] = {}
        self._apps: dict[str, App[Any]] = {}
        self._app_owner: dict[str, str] = {}
        self._conflicts: dict[str, list[str]] = {}
        # Apps are collected on first use, not at load: `seek --help` never builds an App or its Config.
        self._pending: list[tuple[PluginRecord, object]] = []
        self._disabled = _names(env.get(DISABLE_ENV))
        self._allowed = _names(env.get(ALLOW_ENV)) or None

    # -- loading -----------------------------------------------------------------------------

    def load_builtins(self) -> None:
        """Register the apps that ship with the core."""
        from seek import __version__, builtin

        self.load("seek", lambda: builtin, distribution="seek", version=__version__, builtin=True)

    def load_entry_points(self, entry_points: Iterable[metadata.EntryPoint] | None = None) -> None:
        """Load every plugin declared in the ``seek`` entry-point group."""
        if entry_points is None:
            entry_points = metadata.entry_points(group=ENTRY_POINT_GROUP)
        for ep in sorted(entry_points, key=lambda e: e.name):
            dist = getattr(ep, "dist", None)
            self.load(
                ep.name,
                ep.load,
                distribution=dist.name if dist else ep.name,
                version=dist.version if dist else "unknown",
            )

    def load(
        self,
        name: str,
        loader: Callable[[], object],
        distribution: str | None = None,
        version: str = "unknown",
        builtin: bool = False,
    ) -> PluginRecord:
        """Import one plugin through ``loader`` and register it; failures are recorded, not raised."""
        record = PluginRecord(name=name, distribution=distribution or name, version=version, builtin=builtin)
        self._records[name] = record
        reason = self._disabled_reason(record)
        if reason:
            record.status, record.error = "disabled", reason
            return record
        try:
            plugin = loader()
        except _PLUGIN_FAILURES as exc:  # a broken plugin must never take the CLI down
            record.status, record.error = "broken", f"import failed: {_describe(exc)}"
            return record
        try:
            self._pm.register(plugin, name=name)
            self._pm.check_pending()  # hookimpls that match no hookspec (typos) are errors
        except _PLUGIN_FAILURES as exc:
            self._mark_broken(record, f"invalid plugin: {_describe(exc)}")
            return record
        self._pending.append((record, plugin))
        return record

    def register(self, plugin: object, name: str, distribution: str | None = None, version: str = "0") -> PluginRecord:
        """Register an already-imported plugin object (tests, embedding); its apps are collected at once."""
        record = self.load(name, lambda: plugin, distribution=distribution, version=version)
        self._ensure_apps()
        return record

    def _disabled_reason(self, record: PluginRecord) -> str | None:
        if record.builtin:
            return None
        keys = {record.name, record.distribution}
        if keys & self._disabled:
            return f"disabled by {DISABLE_ENV}"
        if self._allowed is not None and not keys & self._allowed:
            return f"not listed in {ALLOW_ENV}"
        return None

    def _impls(self, hook_name: str, plugin: object) -> list[pluggy.HookImpl]:
        hook = getattr(self._pm.hook, hook_name)
        return [impl for impl in hook.get_hookimpls() if impl.plugin is plugin]

    def _mark_broken(self, record: PluginRecord, message: str) -> None:
        record.status, record.error = "broken", message
        plugin = self._pm.get_plugin(record.name)
        if plugin is not None:
            self._pm.unregister(plugin)

    def _ensure_apps(self) -> None:
        while self._pending:
            record, plugin = self._pending.pop(0)
            if record.status == "ok":
                self._collect_apps(record, plugin)

    def _collect_apps(self, record: PluginRecord, plugin: object) -> None:
        from seek.app import App

        found: list[App[Any]] = []
        for impl in self._impls("seek_apps", plugin):
            try:
                result = impl.function()
            except _PLUGIN_FAILURES as exc:
                self._mark_broken(record, f"seek_apps() failed: {_describe(exc)}")
                return
            if not isinstance(result, (list, tuple)):
                self._mark_broken(record, f"seek_apps() returned {type(result).__name__}, expected a list of App")
                return
            bad = [item for item in result if not isinstance(item, App)]
            if bad:
                self._mark_broken(record, f"seek_apps() returned {type(bad[0]).__name__}, which is not a seek.App")
                return
            found.extend(result)
        for app in found:
            owner = self._app_owner.get(app.name)
            if owner is not None and owner != record.name:
                dists = self._conflicts.setdefault(app.name, [self._records[owner].distribution])
                dists.append(record.distribution)
                self._apps.pop(app.name, None)
            elif app.name not in self._conflicts:
                self._apps[app.name] = app
                self._app_owner[app.name] = record.name
            record.apps.append(app.name)

    # -- the facade --------------------------------------------------------------------------

    @property
    def conflicts(self) -> dict[str, list[str]]:
        """App names claimed by more than one plugin -> the distributions claiming them."""
        self._ensure_apps()
        return self._conflicts

    def plugins(self) -> list[PluginRecord]:
        """Every plugin seen, builtin first, then by name."""
        self._ensure_apps()
        return sorted(self._records.values(), key=lambda r: (not r.builtin, r.name))

    def apps(self) -> list[App[Any]]:
        """Every usable app, by name (conflicting names left out; see ``conflicts``)."""
        self._ensure_apps()
        return [self._apps[name] for name in sorted(self._apps)]

    def owner(self, app_name: str) -> PluginRecord:
        """The plugin record that provides an app."""
        self._ensure_apps()
        return self._records[self._app_owner[app_name]]

    def app(self, name: str) -> App[Any]:
        """Look up one app by name, with a readable error when it is unknown or claimed twice."""
        self._ensure_apps()
        if name in self._conflicts:
            dists = " and ".join(self._conflicts[name])
            raise PluginError(f"app {name!r} is provided by both {dists}; uninstall one or set {DISABLE_ENV}")
        if name not in self._apps:
            known = ", ".join(sorted(self._apps)) or "none installed"
            raise PluginError(f"unknown app {name!r} (available: {known}; see `seek plugins list`)")
        return self._apps[name]

    def add_commands(self, cli: click.Group) -> None:
        """Let every ok plugin add its click commands; one that fails is marked broken."""
        for record in sorted(self._records.values(), key=lambda r: (not r.builtin, r.name)):
            plugin = self._pm.get_plugin(record.name)
            if record.status != "ok" or plugin is None:
                continue
            for impl in self._impls("seek_commands", plugin):
                before = dict(cli.commands)
                try:
                    impl.function(cli=cli)
                except _PLUGIN_FAILURES as exc:
                    cli.commands.clear()
                    cli.commands.update(before)
                    self._mark_broken(record, f"seek_commands() failed: {_describe(exc)}")

    def term_dictionaries(self) -> list[Any]:
        """Every terminology dictionary that ok plugins contribute."""
        found: list[Any] = []
        for record in sorted(self._records.values(), key=lambda r: (not r.builtin, r.name)):
            plugin = self._pm.get_plugin(record.name)
            if record.status != "ok" or plugin is None:
                continue
            for impl in self._impls("seek_term_dictionaries", plugin):
                try:
                    contributed: Any = impl.function()
                    found.extend(contributed or [])
                except _PLUGIN_FAILURES as exc:
                    self._mark_broken(record, f"seek_term_dictionaries() failed: {_describe(exc)}")
        return found


_default: PluginManager | None = None


def get_manager() -> PluginManager:
    """The process-wide manager: builtins plus every installed entry point, loaded once."""
    global _default
    if _default is None:
        manager = PluginManager()
        manager.load_builtins()
        manager.load_entry_points()
        _default = manager
    return _default


def reset_manager() -> None:
    """Forget the process-wide manager (tests, or after installing a plugin at run time)."""
    global _default
    _default = None
