"""``seek update``'s lifecycle: one incremental update of a finished run into a new, sealed run folder.

Checked before any folder exists: the app declares continual support and the strategy; the parent
is a finished run of the same app whose every file matches its manifest; the new data's schema is
the training schema the parent recorded. Then the ordinary run lifecycle (:func:`seek.runner.execute`)
runs ``app.update(config, ctx, parent, strategy)`` with the parent's config, and ``lineage.json``
is written into the new folder before it is sealed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from seek.app import App, AppConfig, Report
from seek.errors import ConfigError, RunError

if TYPE_CHECKING:
    from seek.context import RunContext
    from seek.runner import RunResult, RunSettings
    from seek.runs import VerifiedRun


def check_update(app: App[Any], parent: VerifiedRun, strategy: str | None) -> str:
    """The strategy to use; one-line errors for an app without continual support or a foreign parent."""
    spec = app.continual
    if spec is None:
        raise ConfigError(f"seek update: app {app.name!r} declares no continual support (App.continual)")
    chosen = strategy or spec.default
    if chosen not in spec.strategies:
        raise ConfigError(f"--strategy {chosen}: {app.name} updates with {', '.join(spec.strategies)}")
    meta = parent.read_json("run.json")
    if meta.get("app") != app.name:
        raise RunError(f"--from {parent.path}: is a run of {meta.get('app')!r}, not {app.name!r}")
    return chosen


class _Update(App[AppConfig]):
    """The app's update step wearing the App interface, so it runs through the one run lifecycle."""

    summary: ClassVar[str] = "incremental update"

    def __init__(self, app: App[Any], parent: VerifiedRun, strategy: str) -> None:
        self.app, self.parent, self.strategy = app, parent, strategy
        self.name = app.name  # type: ignore[misc]  # run.json names the real app
        self.Config = app.Config  # type: ignore[misc]
        self.data = app.data  # type: ignore[misc]

    def run(self, config: AppConfig, ctx: RunContext) -> Report:
        """Write the lineage, then let the app update the parent's model on ``ctx.data``."""
        from seek.continual.lineage import write_lineage

        assert ctx.data is not None
        report = self.app.update(config, ctx, self.parent, self.strategy)
        state_files = {role: art.path for role, art in ctx.artifacts.records.items() if art.kind == "safetensors"}
        write_lineage(ctx.run, self.parent, ctx.data, self.strategy, state_files)
        report.sections.insert(0, ("Lineage", _lineage_text(self.parent, self.strategy, state_files)))
        return report


def _lineage_text(parent: VerifiedRun, strategy: str, state_files: Mapping[str, str]) -> str:
    files = ", ".join(f"`{path}`" for path in state_files.values()) or "none"
    return (
        f"Updated from `{parent.path}` with strategy `{strategy}`; parent manifest sha256, data sha256 and "
        f"ancestors are in `lineage.json`. Continual state (Fisher diagonals, anchors, replay): {files}."
    )


def run_update(
    app: App[Any],
    parent_dir: str,
    settings: RunSettings,
    strategy: str | None = None,
    overrides: tuple[str, ...] = (),
) -> RunResult:
    """Verify, check the schema, then run the update into a new sealed run folder."""
    from seek.config import resolve_config
    from seek.continual.lineage import check_schema, read_training_schema
    from seek.runner import execute
    from seek.runs import load_run

    parent = load_run(parent_dir)
    chosen = check_update(app, parent, strategy)
    if settings.data is None:
        raise ConfigError("seek update: --data NEW_DATA is required")
    check_schema(read_training_schema(parent), settings.data, str(parent.path))
    config = resolve_config(app.Config, overrides=overrides, base=parent.config)
    return execute(_Update(app, parent, chosen), config, settings)
