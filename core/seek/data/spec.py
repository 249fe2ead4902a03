"""What an App declares about the data it reads (``DataSpec``) and what a user hands it (``DataInput``).

The core reads both: ``seek run APP --data PATH --map FIELD=COLUMN`` checks PATH against the spec's
input kinds and the mapping against its schema before a run folder exists, and ``seek data check PATH
--schema APP`` validates PATH with the same schema, rules and thresholds. Apps never look up config keys
for their data: they get ``ctx.data`` (a :class:`DataInput` or None for built-in data) and call
``ctx.load_table()`` for tabular input.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from seek.errors import ConfigError, DataError

if TYPE_CHECKING:
    import polars as pl

    from seek.data.frames import ReadResult
    from seek.data.schema import Rule, Schema
    from seek.data.steps import Step

InputKind = Literal["file", "folder", "zip"]


@dataclass(frozen=True)
class DataSpec:
    """An App's data contract: schema, default mapping, label and key, rules, thresholds, input kinds.

    ``builtin`` names the Config section that only applies to the built-in (simulated) data; it is left
    out of config.json and the report when the run reads a user's file. ``reader`` replaces the tabular
    loader for inputs that are not tables (a DICOM series in a folder or a zip): it gets the
    :class:`DataInput` and returns whatever the app consumes.
    """

    schema: Schema | None = None
    mapping: Mapping[str, str] = field(default_factory=dict)
    label: str | None = None
    key: Sequence[str] = ()
    thresholds: Mapping[str, float | None] = field(default_factory=dict)
    text_columns: Sequence[str] = ()
    steps: Sequence[Step] = ()
    inputs: frozenset[InputKind] = frozenset({"file"})
    builtin: str | None = None
    reader: Callable[[DataInput], Any] | None = None
    #: Reject-share guard: warn on stderr above ``warn_rejects``, fail above ``max_rejects`` (unless accepted).
    warn_rejects: float = 0.01
    max_rejects: float = 0.20

    @property
    def rules(self) -> Sequence[Rule]:
        """The schema's cross-field consistency rules."""
        return tuple(self.schema.rules) if self.schema is not None else ()

    @property
    def optional_label(self) -> str | None:
        """The label field when blanks are allowed there (kept as unlabelled, counted); None otherwise."""
        if self.schema is None or self.label is None or self.label not in self.fields:
            return None
        return None if self.schema.field(self.label).required else self.label

    @property
    def fields(self) -> list[str]:
        """Names of the schema's fields (empty without a schema)."""
        return [f.name for f in self.schema.fields] if self.schema is not None else []

    def resolve_mapping(self, given: Mapping[str, str], app: str = "app") -> dict[str, str]:
        """The default mapping overlaid with the user's ``--map``; an unknown field is a ConfigError."""
        known = self.fields
        for name, column in given.items():
            if known and name not in known:
                raise ConfigError(f"--map {name}={column}: {app} has no field {name!r} (fields: {', '.join(known)})")
        return {**self.mapping, **given}

    def quality_thresholds(self, overrides: Sequence[str], source: str) -> Any:
        """The spec's thresholds with ``--threshold NAME=VALUE`` overrides applied."""
        from seek.data.quality import Thresholds

        return Thresholds.parse(tuple(overrides), Thresholds.from_mapping(dict(self.thresholds), source=source))

    def open(
        self, path: str | os.PathLike[str], mapping: Mapping[str, str] | None = None, app: str = "app"
    ) -> DataInput:
        """Check ``path`` against the accepted input kinds and return the :class:`DataInput`."""
        target = Path(path)
        if not target.exists():
            raise ConfigError(f"--data {target}: not found")
        if target.is_dir():
            kind: InputKind = "folder"
        elif zipfile.is_zipfile(target) and target.suffix.lower() == ".zip":
            kind = "zip"
        else:
            kind = "file"
        if kind not in self.inputs:
            accepted = " or ".join(sorted(self.inputs))
            raise ConfigError(f"--data {target}: is a {kind}; {app} reads a {accepted}")
        return DataInput(path=target, kind=kind, mapping=self.resolve_mapping(dict(mapping or {}), app))


@dataclass(frozen=True)
class DataInput:
    """The user's data for one run: a file, folder or zip, and the column mapping to apply."""

    path: Path
    kind: InputKind = "file"
    mapping: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """What run.json records about the input (path, kind, mapping, sha256 of a file)."""
        record: dict[str, Any] = {"path": str(self.path), "kind": self.kind, "mapping": dict(self.mapping)}
        if self.kind != "folder":
            record["sha256"] = _sha256(self.path)
        return record

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> DataInput:
        """Rebuild from run.json (``--resume``)."""
        return cls(path=Path(record["path"]), kind=record.get("kind", "file"), mapping=dict(record.get("mapping", {})))


@dataclass
class LoadedTable:
    """A validated table: the kept rows (schema types), the rejected rows (row, step, reason, raw values)."""

    frame: pl.DataFrame
    rejected: pl.DataFrame
    rows_in: int
    source: str


def load_table(data: DataInput, spec: DataSpec) -> LoadedTable:
    """Read a tabular input, apply the mapping, validate against the schema, drop repeated keys (kept as rejected)."""
    from seek.data.frames import read_table
    from seek.data.schema import apply_mapping

    source = str(data.path)
    if data.kind != "file":
        raise DataError(f"{source}: a {data.kind} is not a table; this app's DataSpec needs a reader for it")
    # Damaged records (ragged, stray quotes, bad bytes) become rejected rows with their line and raw text.
    table: Any = read_table(data.path, as_text=spec.schema is not None)
    if data.mapping:
        table = apply_mapping(table, data.mapping, source=source)
    return validate_table(table, spec, source)


def validate_table(frame: pl.DataFrame | ReadResult, spec: DataSpec, source: str) -> LoadedTable:
    """Run a frame (a file's, or built-in data) through the spec's schema, key and extra steps."""
    from seek.data.dedup import ExactDuplicates
    from seek.data.schema import SchemaStep
    from seek.data.steps import Pipeline

    steps: list[Any] = []
    if spec.schema is not None:
        steps.append(SchemaStep(spec.schema, source=source, label=spec.optional_label))
    if spec.key:
        steps.append(ExactDuplicates(list(spec.key)))
    steps += list(spec.steps)
    result = Pipeline(steps).run(frame)
    return LoadedTable(frame=result.kept, rejected=result.rejected, rows_in=result.rows_in, source=source)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
