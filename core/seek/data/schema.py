"""Tabular schema validation: types, ranges, required fields, timestamps parseable and not in the future."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from seek.data.steps import Pipeline, mark_rejects
from seek.errors import ConfigError, DataError

if TYPE_CHECKING:
    import polars as pl

FieldType = Literal["int", "float", "str", "bool", "datetime", "date", "category"]
_TYPES = ("int", "float", "str", "bool", "datetime", "date", "category")
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")


@dataclass(frozen=True)
class Field:
    """One column: its type and the checks its values must pass.

    ``required`` means the column must exist and every value must be present; ``min``/``max`` bound
    numbers, dates and string lengths (for ``str``); ``allowed`` lists permitted values; ``pattern`` is a
    regex the whole string must match; ``not_future`` rejects timestamps after ``now``; ``format`` is a
    strftime format for datetimes and dates (when None it is inferred from the first value, so set it for
    files that mix formats); ``allow_nan`` lets float NaN through.
    """

    name: str
    dtype: FieldType = "str"
    required: bool = False
    min: float | int | dt.datetime | dt.date | None = None
    max: float | int | dt.datetime | dt.date | None = None
    allowed: Sequence[Any] | None = None
    pattern: str | None = None
    not_future: bool = False
    format: str | None = None
    allow_nan: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if self.dtype not in _TYPES:
            raise ConfigError(f"field {self.name!r}: unknown type {self.dtype!r} (one of {', '.join(_TYPES)})")
        if self.not_future and self.dtype not in ("datetime", "date"):
            raise ConfigError(f"field {self.name!r}: not_future only applies to datetime/date fields")


@dataclass(frozen=True)
class Rule:
    """A named cross-field rule: ``expr`` is a polars boolean expression, true where a row is consistent.

    Rows where the expression is null (a field it needs is missing) are not counted against the rule.
    With ``reject=True`` validation also removes the rows breaking it.
    """

    name: str
    expr: Any
    description: str = ""
    reject: bool = False


@dataclass(frozen=True)
class Schema:
    """The fields of a table, its cross-field rules, and what to do with columns it does not name."""

    fields: Sequence[Field]
    rules: Sequence[Rule] = ()
    extra: Literal["keep", "drop"] = "keep"
    name: str = "schema"

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ConfigError(f"schema {self.name!r}: field names repeated: {repeated}")

    def field(self, name: str) -> Field:
        """The field called ``name``."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    @property
    def timestamp_fields(self) -> list[str]:
        """Names of the datetime/date fields (used by the quality report for currentness)."""
        return [f.name for f in self.fields if f.dtype in ("datetime", "date")]


def apply_mapping(frame: pl.DataFrame | pl.LazyFrame, mapping: Mapping[str, str], source: str = "data") -> Any:
    """Rename source columns to schema names: ``{"timestamp": "TX_DATETIME"}`` renames TX_DATETIME -> timestamp."""
    import polars as pl

    columns = frame.collect_schema().names() if isinstance(frame, pl.LazyFrame) else frame.columns
    missing = [(target, src) for target, src in mapping.items() if src not in columns]
    if missing:
        target, src = missing[0]
        raise DataError(f"{source}: column {src!r} (mapped to {target!r}) not found; columns are {columns}")
    clashes = [t for t, s in mapping.items() if t in columns and t != s and t not in mapping.values()]
    if clashes:
        raise DataError(f"{source}: mapping target {clashes[0]!r} already exists as a column")
    return frame.rename({src: target for target, src in mapping.items() if src != target})


class SchemaStep:
    """Pipeline step: cast each field to its type and remove rows failing a type, range or required check."""

    def __init__(self, schema: Schema, now: dt.datetime | None = None, source: str = "data") -> None:
        self.schema = schema
        self.name = "schema" if schema.name == "schema" else f"schema:{schema.name}"
        self.checks = "types, ranges, allowed values, required fields, timestamps parseable and not in the future"
        self.now = now
        self.source = source

    def apply(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """Cast fields and set the reason of the first failing check per row."""
        import polars as pl

        columns = frame.collect_schema()
        now = self.now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        missing_required = [f.name for f in self.schema.fields if f.required and f.name not in columns]
        if missing_required:
            raise DataError(
                f"{self.source}: required column {missing_required[0]!r} is missing; columns are {list(columns)}"
            )
        casts: list[pl.Expr] = []
        checks: list[tuple[pl.Expr, str | pl.Expr]] = []
        for spec in self.schema.fields:
            present = spec.name in columns
            source_raw = pl.col(spec.name) if present else pl.lit(None, dtype=pl.String)
            if present:
                casts.append(pl.col(spec.name).alias(f"__raw_{spec.name}"))
            casts.append(_cast(source_raw, columns.get(spec.name, pl.String), spec).alias(spec.name))
            raw = pl.col(f"__raw_{spec.name}") if present else source_raw
            checks.extend(_checks(spec, pl.col(spec.name), raw, now, columns.get(spec.name, pl.String) == pl.String))
        # Rules see the cast values (dates compare as dates, not as text).
        for rule in self.schema.rules:
            if rule.reject:
                checks.append((~rule.expr.fill_null(True), f"rule {rule.name}: {rule.description}"))
        # Types are cast, values are not edited: no CHANGED column.
        marked = mark_rejects(frame.with_columns(casts), checks)
        names = [f.name for f in self.schema.fields]
        marked = marked.drop([f"__raw_{n}" for n in names if n in columns])
        if self.schema.extra == "drop":
            marked = marked.select([c for c in marked.collect_schema().names() if c in names or c.startswith("__seek")])
        return marked


def _cast(raw: pl.Expr, raw_dtype: Any, spec: Field) -> pl.Expr:
    import polars as pl

    text = raw_dtype == pl.String
    if spec.dtype == "int":
        return (raw.str.strip_chars() if text else raw).cast(pl.Int64, strict=False)
    if spec.dtype == "float":
        return (raw.str.strip_chars() if text else raw).cast(pl.Float64, strict=False)
    if spec.dtype == "bool":
        if raw_dtype == pl.Boolean:
            return raw
        lowered = raw.cast(pl.String).str.strip_chars().str.to_lowercase()
        return pl.when(lowered.is_in(_TRUE)).then(True).when(lowered.is_in(_FALSE)).then(False).otherwise(None)
    if spec.dtype == "datetime":
        if isinstance(raw_dtype, pl.Datetime):
            return raw.dt.replace_time_zone(None) if raw_dtype.time_zone is None else _utc_naive(raw)
        if raw_dtype == pl.Date:
            return raw.cast(pl.Datetime("us"))
        parsed = (
            raw.cast(pl.String)
            .str.strip_chars()
            .str.to_datetime(spec.format, strict=False, time_unit="us", time_zone="UTC")
        )
        return parsed.dt.replace_time_zone(None)
    if spec.dtype == "date":
        if raw_dtype == pl.Date:
            return raw
        if isinstance(raw_dtype, pl.Datetime):
            return raw.dt.date()
        return raw.cast(pl.String).str.strip_chars().str.to_date(spec.format, strict=False)
    if spec.dtype == "category":
        return raw.cast(pl.String)
    return raw.cast(pl.String)


def _utc_naive(raw: pl.Expr) -> pl.Expr:
    return raw.dt.convert_time_zone("UTC").dt.replace_time_zone(None)


def _say(prefix: str, value: pl.Expr, suffix: str = "") -> pl.Expr:
    """``prefix + value + suffix`` (literal text: braces in patterns must not act as format fields)."""
    import polars as pl

    return pl.concat_str([pl.lit(prefix), value, pl.lit(suffix)])


def _checks(
    spec: Field, value: pl.Expr, raw: pl.Expr, now: dt.datetime, raw_is_text: bool = True
) -> list[tuple[pl.Expr, str | pl.Expr]]:
    """(failed, reason) per check, in the order they are reported."""
    import polars as pl

    name = spec.name
    raw_text = raw.cast(pl.String)
    # Blank text counts as missing; typed columns are only missing when null (no string cast on every row).
    present = (raw.is_not_null() & (raw_text.str.strip_chars() != "")) if raw_is_text else raw.is_not_null()
    out: list[tuple[pl.Expr, str | pl.Expr]] = []
    if spec.required:
        out.append((~present.fill_null(False), pl.lit(f"{name}: required value is missing")))
    word = {"int": "an integer", "float": "a number", "bool": "a boolean", "datetime": "a timestamp", "date": "a date"}
    if spec.dtype in word:
        unparsed = present & value.is_null()
        out.append((unparsed, _say(f"{name}: ", raw_text, f" is not {word[spec.dtype]}")))
    if spec.dtype == "float" and not spec.allow_nan:
        out.append((value.is_nan(), pl.lit(f"{name}: NaN")))
    length = value.str.len_chars() if spec.dtype == "str" else value
    unit = " characters" if spec.dtype == "str" else ""
    if spec.min is not None:
        out.append((length < spec.min, _say(f"{name}: ", raw_text, f" below the minimum {spec.min}{unit}")))
    if spec.max is not None:
        out.append((length > spec.max, _say(f"{name}: ", raw_text, f" above the maximum {spec.max}{unit}")))
    if spec.allowed is not None:
        allowed = list(spec.allowed)
        shown = ", ".join(map(str, allowed[:8])) + (", ..." if len(allowed) > 8 else "")
        out.append((value.is_not_null() & ~value.is_in(allowed), _say(f"{name}: ", raw_text, f" not one of {shown}")))
    if spec.pattern is not None:
        out.append(
            (
                ~value.cast(pl.String).str.contains(f"^(?:{spec.pattern})$"),
                _say(f"{name}: ", raw_text, f" does not match {spec.pattern}"),
            )
        )
    if spec.not_future:
        limit = now.date() if spec.dtype == "date" else now
        out.append((value > pl.lit(limit), _say(f"{name}: ", raw_text, " is in the future")))
    return out


def validate(
    frame: pl.DataFrame | pl.LazyFrame,
    schema: Schema,
    source: str = "data",
    now: dt.datetime | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (valid rows cast to the schema's types, rejected rows with ``row``, ``step``, ``reason``)."""
    result = Pipeline([SchemaStep(schema, now=now, source=source)]).run(frame)
    return result.kept, result.rejected
