"""Lineage of model versions and the training schema an update must match.

A trained run records the schema of the table its model learned from (``training_schema.json``:
field -> dtype class). ``seek update`` refuses new data whose columns differ (one line naming the
field) and writes ``lineage.json`` into the new run: the parent run, the sha256 of the parent's
manifest (which pins every file of the parent), the data file's sha256, the strategy, the chain of
ancestors and the files holding the Fisher state and anchors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seek.errors import DataError, RunError

if TYPE_CHECKING:
    import polars as pl

    from seek.data.spec import DataInput
    from seek.runs import RunFolder, VerifiedRun

SCHEMA_FILE = "training_schema.json"
LINEAGE_FILE = "lineage.json"


def dtype_class(dtype: Any) -> str:
    """A dtype as the class an update compares: number, text, datetime, date or bool."""
    import polars as pl

    if dtype.is_numeric():
        return "number"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    if dtype == pl.Date:
        return "date"
    if dtype == pl.Boolean:
        return "bool"
    return "text"


def training_schema(frame: pl.DataFrame, fields: list[str] | None = None) -> dict[str, str]:
    """Field -> dtype class of the table a model was trained on (only ``fields`` when given)."""
    names = fields if fields is not None else frame.columns
    return {name: dtype_class(frame.schema[name]) for name in names if name in frame.columns}


def write_training_schema(run: RunFolder, schema: Mapping[str, str]) -> None:
    """Record the training schema in a run folder (read back by ``seek update``)."""
    run.write_json(SCHEMA_FILE, dict(schema))


def read_training_schema(parent: VerifiedRun) -> dict[str, str]:
    """The training schema of a finished run; a run without one cannot be updated."""
    if SCHEMA_FILE not in parent.files:
        raise RunError(f"{parent.path}: records no {SCHEMA_FILE}; it was not written by an updatable app")
    schema: dict[str, str] = parent.read_json(SCHEMA_FILE)
    return schema


def check_schema(expected: Mapping[str, str], data: DataInput, parent: str) -> None:
    """Refuse ``data`` (after its ``--map``) when a field is missing, extra or of another type than in training."""
    import polars as pl

    source = str(data.path)
    if data.path.suffix.lower() == ".parquet":
        columns = dict(pl.read_parquet_schema(data.path))
        typed = True
    else:
        columns = dict(pl.read_csv(data.path, n_rows=1, infer_schema_length=0).schema)
        typed = False
    renamed = {src: target for target, src in data.mapping.items()}
    found = {renamed.get(name, name): dtype for name, dtype in columns.items()}
    for name, kind in expected.items():
        if name not in found:
            raise DataError(f"{source}: field {name!r} is missing; the model in {parent} was trained with it ({kind})")
    for name in found:
        if name not in expected:
            raise DataError(f"{source}: field {name!r} was not in the training data of {parent}; drop or --map it")
    if typed:
        for name, kind in expected.items():
            got = dtype_class(found[name])
            if got != kind:
                raise DataError(f"{source}: field {name!r} is {got} here but {kind} in the training data of {parent}")


def write_lineage(
    run: RunFolder, parent: VerifiedRun, data: DataInput, strategy: str, state_files: Mapping[str, str]
) -> dict[str, Any]:
    """Write lineage.json: parent run + manifest sha256, data sha256, strategy, ancestors, Fisher/anchor files."""
    from seek.io import sha256_file

    parent_lineage = parent.read_json(LINEAGE_FILE) if LINEAGE_FILE in parent.files else None
    ancestors = [*parent_lineage["ancestors"], parent_lineage["parent"]] if parent_lineage else []
    record = {
        "parent": {
            "run": str(Path(parent.path).resolve()),
            "manifest_sha256": sha256_file(parent.path / "manifest.json"),
        },
        "ancestors": ancestors,
        "generation": len(ancestors) + 1,
        "data": data.to_json(),
        "strategy": strategy,
        "state_files": dict(state_files),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    run.write_json(LINEAGE_FILE, record)
    return record


def read_lineage(run_dir: str | Path) -> dict[str, Any]:
    """lineage.json of a run folder (an updated model version)."""
    path = Path(run_dir) / LINEAGE_FILE
    if not path.is_file():
        raise RunError(f"{run_dir}: no {LINEAGE_FILE} (not produced by seek update)")
    record: dict[str, Any] = json.loads(path.read_text())
    return record
