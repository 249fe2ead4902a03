"""``seek data``: check a file's quality and clean it (cleaned + rejected parquet and a quality report)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from seek.cli import SeekGroup

if TYPE_CHECKING:
    from seek.data.spec import DataSpec


def app_data_spec(app_name: str | None) -> DataSpec:
    """The DataSpec the app declares (an empty one without ``--schema``/``--app``)."""
    from seek.data.spec import DataSpec

    if not app_name:
        return DataSpec()
    from seek.cli import current_manager
    from seek.errors import ConfigError

    app = current_manager().app(app_name)
    if app.data is None:
        raise ConfigError(f"app {app_name!r} declares no data schema (App.data is None)")
    return app.data


def _load(path: str, spec: DataSpec, mapping: tuple[str, ...] = ()) -> Any:
    from seek.cli.run import parse_mapping
    from seek.data.frames import read_table
    from seek.data.schema import apply_mapping

    columns = spec.resolve_mapping(parse_mapping(mapping))
    # With a schema, CSV columns stay text so bad values become rejected rows rather than a file error;
    # damaged records (ragged, stray quotes, bad bytes) are rejected rows too, with their line and raw text.
    table: Any = read_table(path, as_text=spec.schema is not None)
    if columns:
        table = apply_mapping(table, columns, source=path)
    return table


def _installed_terms() -> Any:
    """The installed plugins' term dictionaries merged into one, or None when there are none."""
    from seek.cli import current_manager
    from seek.data.terms import collect_term_dictionaries, merge_dictionaries

    found = collect_term_dictionaries(current_manager())
    return merge_dictionaries(found, domain="installed") if found else None


def _print_report(report: Any) -> None:
    from seek.cli.output import console, table

    rows = []
    for d in report.dimensions:
        score = "n/a" if d.score is None else f"{d.score:.4f}"
        verdict = "-" if d.score is None or d.threshold is None else ("pass" if d.passed else "FAIL")
        rows.append((d.name, score, "-" if d.threshold is None else d.threshold, verdict))
    out = console()
    out.print(
        table(
            f"Data quality: {report.source} ({report.rows} rows)", ["dimension", "score", "threshold", "result"], rows
        )
    )
    for line in report.failures():
        out.print(f"threshold failed: {line}")
    # Each offending row with its field and reason (line numbers for CSV, record numbers otherwise).
    unit = "line" if str(report.source).lower().endswith((".csv", ".tsv", ".txt")) else "record"
    for d in report.dimensions:
        found = d.details.get("rows") or []
        for entry in found[:_SHOWN]:
            reason = str(entry["reason"])
            what = reason if reason.startswith(f"{entry['field']}:") else f"{entry['field']}: {reason}"
            out.print(f"{d.name}: {unit} {entry['row']}: {what}", markup=False)
        more = int(d.details.get("invalid_rows", d.details.get("duplicates", 0)) or 0) - min(len(found), _SHOWN)
        if found and more > 0:
            out.print(f"{d.name}: ... and {more:,} more (quality.json with --out lists the first 20)", markup=False)


_SHOWN = 10


def _display(no_progress: bool) -> Any:
    """The command's one progress display, closed when the command ends (seek.progress)."""
    from seek.progress import RunProgress

    return click.get_current_context().with_resource(RunProgress(enabled=not no_progress))


@click.group("data", cls=SeekGroup)
def command() -> None:
    """Check and clean raw data files (CSV, parquet, JSON lines)."""


@command.command("check")
@click.argument("file", type=click.Path())
@click.option("--schema", "app_name", metavar="APP", help="Validate against the schema and rules APP declares.")
@click.option("--map", "mapping", multiple=True, metavar="FIELD=COLUMN", help="Column holding a schema field.")
@click.option("--label", help="Label column: estimates label noise (accuracy).")
@click.option("--timestamp", help="Timestamp column for currentness (default: the schema's first timestamp).")
@click.option("--key", multiple=True, help="Key column(s) for uniqueness (default: whole rows).")
@click.option(
    "--threshold",
    "thresholds",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a threshold, e.g. completeness=0.99.",
)
@click.option(
    "--out", type=click.Path(file_okay=False), help="Also write quality.json, quality.md and missingness.png here."
)
@click.option("--no-progress", is_flag=True, help="No live display: one line per stage on stderr instead.")
def check(
    file: str,
    app_name: str | None,
    mapping: tuple[str, ...],
    label: str | None,
    timestamp: str | None,
    key: tuple[str, ...],
    thresholds: tuple[str, ...],
    out: str | None,
    no_progress: bool,
) -> None:
    """Report the quality of FILE; exit 1 if a threshold fails."""
    from seek.data.quality import quality_report

    display = _display(no_progress)
    spec = app_data_spec(app_name)
    if spec.reader is not None:  # not a table (a DICOM study folder, a zip): the app's reader checks it
        _check_with_reader(file, spec, spec.reader, app_name or "app", display)
        return
    if Path(file).is_dir():
        raise click.BadParameter(f"{file} is a folder; only an app with a reader (--schema APP) reads folders")
    from seek.data.steps import Pipeline

    with display.stage("load"):
        table = _load(file, spec, mapping)
        # Records the reader could not parse count against validity like any rejected row.
        read = Pipeline([]).run(table) if table.rejected.height else None
    with display.stage("quality"):
        report = quality_report(
            table.frame,
            pipeline=read,
            lines=table.rows,
            schema=spec.schema,
            rules=list(spec.rules),
            key=list(key) or list(spec.key) or None,
            label=label or spec.label,
            timestamp=timestamp,
            thresholds=spec.quality_thresholds(thresholds, f"app {app_name!r} data_thresholds"),
            source=file,
        )
    if out:
        report.save(out)
    _print_report(report)
    if not report.passed:
        raise click.exceptions.Exit(1)


def _check_with_reader(file: str, spec: DataSpec, reader: Any, app_name: str, display: Any) -> None:
    """Open FILE as the app's input kind and read it with the app's reader; print what it found.

    The reader raises a one-line DataError (exit 1) for anything wrong; what it returns is shown through
    its ``summary_rows()`` (pairs of name and value) when it has one.
    """
    from seek.cli.output import console, table

    with display.stage("load"):
        data = spec.open(file, app=app_name)
        result = reader(data)
    rows = result.summary_rows() if hasattr(result, "summary_rows") else [("read", repr(result))]
    console().print(table(f"{app_name}: {file}", ["field", "value"], [(str(k), str(v)) for k, v in rows]))


@command.command("clean")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for the outputs.")
@click.option("--app", "app_name", metavar="APP", help="Use the schema, rules and steps APP declares.")
@click.option("--map", "mapping", multiple=True, metavar="FIELD=COLUMN", help="Column holding a schema field.")
@click.option("--text", "text_columns", multiple=True, help="Text column(s) to filter and near-deduplicate.")
@click.option("--key", multiple=True, help="Key column(s) for exact duplicates (default: whole rows).")
@click.option(
    "--near-threshold",
    default=0.8,
    show_default=True,
    type=click.FloatRange(0.01, 1.0),
    help="Jaccard threshold for near-duplicate texts.",
)
@click.option("--languages", default="zh,en", show_default=True, help="Languages whose scripts text may use.")
@click.option("--threshold", "thresholds", multiple=True, metavar="NAME=VALUE", help="Override a quality threshold.")
@click.option(
    "--terms/--no-terms",
    default=True,
    show_default=True,
    help="Normalise term variants in text columns with the installed plugins' dictionaries.",
)
@click.option("--no-progress", is_flag=True, help="No live display: one line per stage on stderr instead.")
def clean(
    file: str,
    out_dir: str,
    app_name: str | None,
    mapping: tuple[str, ...],
    text_columns: tuple[str, ...],
    key: tuple[str, ...],
    near_threshold: float,
    languages: str,
    thresholds: tuple[str, ...],
    terms: bool,
    no_progress: bool,
) -> None:
    """Clean FILE into OUT/cleaned.parquet, OUT/rejected.parquet and a quality report."""
    from seek.data.dedup import ExactDuplicates, NearDuplicates
    from seek.data.quality import quality_report
    from seek.data.schema import SchemaStep
    from seek.data.steps import Pipeline
    from seek.data.terms import NormaliseTerms
    from seek.data.text import text_steps
    from seek.io import atomic_path, atomic_write_json

    display = _display(no_progress)
    spec = app_data_spec(app_name)
    with display.stage("load"):
        table = _load(file, spec, mapping)
    frame = table.frame
    columns = list(dict.fromkeys([*spec.text_columns, *text_columns]))
    dictionary = _installed_terms() if terms and columns else None
    steps: list[Any] = []
    if spec.schema is not None:
        steps.append(SchemaStep(spec.schema, source=file, label=spec.optional_label))
    steps.append(ExactDuplicates(list(key) or list(spec.key) or None))
    for column in columns:
        if column not in frame.columns:
            raise click.BadParameter(
                f"column {column!r} not in {file}; columns are {frame.columns}", param_hint="--text"
            )
        steps += text_steps(column, languages=[s.strip() for s in languages.split(",") if s.strip()])
        if dictionary is not None:
            steps.append(NormaliseTerms(column, dictionary))
        steps.append(NearDuplicates(column, threshold=near_threshold))
    steps += list(spec.steps)
    with display.stage("clean"):
        result = Pipeline(steps).run(table)
    out = Path(out_dir)
    with display.stage("write"):
        for name, part in (("cleaned.parquet", result.kept), ("rejected.parquet", result.rejected)):
            with atomic_path(out / name) as tmp:
                part.write_parquet(tmp)
        atomic_write_json(out / "counts.json", result.counts())
    with display.stage("quality"):
        report = quality_report(
            result.kept,
            schema=spec.schema,
            rules=list(spec.rules),
            key=list(key) or list(spec.key) or None,
            label=spec.label,
            thresholds=spec.quality_thresholds(thresholds, f"app {app_name!r} data_thresholds"),
            pipeline=result,
            source=file,
        )
        report.save(out)
    click.echo(f"{result.rows_in} rows: {result.kept.height} kept, {result.rejected.height} rejected -> {out}")
    for step in result.steps:
        click.echo(f"  {step.name}: {step.rejected} rejected, {step.changed} changed")
