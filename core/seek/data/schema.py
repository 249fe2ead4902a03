"""Tabular schema validation: types, ranges, required fields, timestamps parseable and not in the future.

Casts are lenient where the meaning is plain and strict where it is not: ``"3"``, ``" 3"``, ``3.0`` and
``"1.0"`` are the integer 3, ``"1.5"`` is not an integer; ``inf``/``-inf`` (and NaN unless
``allow_nan``) are not numbers; booleans are not numbers. Timestamps of any kind land as naive
``Datetime("us")`` holding UTC (see :mod:`seek.data.timestamps`).

A blank label is unlabelled, never 0 and never a reason to reject: name the label field with
``Schema(label="is_fraud")`` (the field must not be ``required``); blanks stay null and the pipeline
counts them (``PipelineResult.unlabelled``, ``rows_unlabelled`` in ``counts()``).

``Field(unique=True)`` rejects repeats of a value among the rows that pass every other check, after
normalisation (cast to the field's type; strings stripped): when the first row with an id is invalid,
the valid second one is kept.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from seek.data.rejects import check_reject_share, require_rows
from seek.data.steps import REASON, ROW, Pipeline, mark_rejects
from seek.data.timestamps import cast_datetime, check_timezone, probe
from seek.errors import ConfigError, DataError

if TYPE_CHECKING:
    import polars as pl

    from seek.data.frames import ReadResult

__all__ = [
    "Field",
    "Rule",
    "Schema",
    "SchemaStep",
    "apply_mapping",
    "check_reject_share",
    "require_rows",
    "validate",
]

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
    strftime format for datetimes and dates (when None, ISO-8601 layouts, offsets and epoch numbers are
    all recognised, see :mod:`seek.data.timestamps`); ``allow_nan`` lets float NaN through (infinities
    never pass); ``timezone`` is the IANA zone naive timestamps are in (None: the validate call's,
    default UTC); ``epoch_unit`` fixes the unit of epoch numbers (s, ms, us, ns; None: by magnitude);
    ``unique`` rejects repeated values among otherwise valid rows.
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
    timezone: str | None = None
    epoch_unit: Literal["s", "ms", "us", "ns"] | None = None
    unique: bool = False

    def __post_init__(self) -> None:
        if self.dtype not in _TYPES:
            raise ConfigError(f"field {self.name!r}: unknown type {self.dtype!r} (one of {', '.join(_TYPES)})")
        if self.not_future and self.dtype not in ("datetime", "date"):
            raise ConfigError(f"field {self.name!r}: not_future only applies to datetime/date fields")
        if self.timezone is not None:
            check_timezone(self.timezone, f"field {self.name!r}")
        if self.epoch_unit is not None and self.epoch_unit not in ("s", "ms", "us", "ns"):
            raise ConfigError(f"field {self.name!r}: epoch_unit must be one of s, ms, us, ns")


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
    """The fields of a table, its cross-field rules, what to do with columns it does not name, and its label.

    ``label`` names the field holding the label: a blank there means unlabelled (kept as null, counted).
    """

    fields: Sequence[Field]
    rules: Sequence[Rule] = ()
    extra: Literal["keep", "drop"] = "keep"
    name: str = "schema"
    label: str | None = None

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ConfigError(f"schema {self.name!r}: field names repeated: {repeated}")
        if self.label is not None:
            if self.label not in names:
                raise ConfigError(f"schema {self.name!r}: label {self.label!r} is not one of its fields")
            if self.field(self.label).required:
                raise ConfigError(
                    f"schema {self.name!r}: label field {self.label!r} must not be required "
                    "(a blank label means unlabelled)"
                )

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


def apply_mapping(
    frame: pl.DataFrame | pl.LazyFrame | ReadResult, mapping: Mapping[str, str], source: str = "data"
) -> Any:
    """Rename source columns to schema names: ``{"timestamp": "TX_DATETIME"}`` renames TX_DATETIME -> timestamp.

    A :class:`seek.data.frames.ReadResult` comes back as one, its row numbers and read rejects kept.
    """
    import polars as pl

    from seek.data import frames

    if isinstance(frame, frames.ReadResult):
        return dataclasses.replace(frame, frame=apply_mapping(frame.frame, mapping, source))
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
    """Pipeline step: cast each field to its type and remove rows failing a type, range or required check.

    ``timezone`` is the IANA zone of naive timestamps for fields that do not set their own (default UTC);
    ``label`` (default: the schema's) names the label field whose blanks are counted as unlabelled.
    """

    def __init__(
        self,
        schema: Schema,
        now: dt.datetime | None = None,
        source: str = "data",
        timezone: str = "UTC",
        label: str | None = None,
    ) -> None:
        check_timezone(timezone, f"{source}: timezone")
        label = label or schema.label
        if label is not None and not any(f.name == label and not f.required for f in schema.fields):
            raise ConfigError(f"schema {schema.name!r}: label {label!r} must be one of its fields, not required")
        self.schema = schema
        self.name = "schema" if schema.name == "schema" else f"schema:{schema.name}"
        self.checks = "types, ranges, allowed values, required fields, timestamps parseable and not in the future"
        self.now = now
        self.source = source
        self.timezone = timezone
        #: The label field: the pipeline counts its blanks as unlabelled rows.
        self.label_field = label

    def apply(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """Cast fields and set the reason of the first failing check per row."""
        import polars as pl

        columns = frame.collect_schema()
        now = self.now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        missing_required = [f.name for f in self.schema.fields if f.required and f.name not in columns]
        if missing_required:
            raise DataError(
                f"{self.source}: required column {missing_required[0]!r} is missing; "
                f"columns are {[c for c in columns if c != ROW]}"
            )
        casts: list[pl.Expr] = []
        checks: list[tuple[pl.Expr, str | pl.Expr]] = []
        for spec in self.schema.fields:
            present = spec.name in columns
            source_raw = pl.col(spec.name) if present else pl.lit(None, dtype=pl.String)
            raw_dtype = columns.get(spec.name, pl.String)
            if present:
                casts.append(pl.col(spec.name).alias(f"__raw_{spec.name}"))
            casts.append(self._cast(frame, source_raw, raw_dtype, spec, present).alias(spec.name))
            raw = pl.col(f"__raw_{spec.name}") if present else source_raw
            checks.extend(_checks(spec, pl.col(spec.name), raw, now, raw_dtype == pl.String))
        # Rules see the cast values (dates compare as dates, not as text).
        for rule in self.schema.rules:
            if rule.reject:
                checks.append((~rule.expr.fill_null(True), f"rule {rule.name}: {rule.description}"))
        # Types are cast, values are not edited: no CHANGED column.
        marked = mark_rejects(frame.with_columns(casts), checks)
        for spec in self.schema.fields:
            if spec.unique and spec.name in columns:
                marked = _mark_repeats(marked, spec, pl.col(f"__raw_{spec.name}"))
        names = [f.name for f in self.schema.fields]
        marked = marked.drop([f"__raw_{n}" for n in names if n in columns])
        if self.schema.extra == "drop":
            marked = marked.select([c for c in marked.collect_schema().names() if c in names or c.startswith("__seek")])
        return marked

    def _cast(self, frame: pl.LazyFrame, raw: pl.Expr, raw_dtype: Any, spec: Field, present: bool) -> pl.Expr:
        import polars as pl

        if spec.dtype != "datetime":
            return _cast(raw, raw_dtype, spec)
        offsets, epochs = probe(frame, spec.name) if present and raw_dtype == pl.String else (False, False)
        return cast_datetime(
            raw,
            raw_dtype,
            timezone=spec.timezone or self.timezone,
            format=spec.format,
            epoch_unit=spec.epoch_unit,
            offsets=offsets,
            epochs=epochs,
        )


def _mark_repeats(marked: pl.LazyFrame, spec: Field, raw: pl.Expr) -> pl.LazyFrame:
    """Reject repeats of ``spec``'s normalised value among rows no other check rejected, naming the first row."""
    import polars as pl

    value = pl.col(spec.name)
    key = value.cast(pl.String).str.strip_chars() if spec.dtype in ("str", "category") else value
    ok = pl.col(REASON).is_null() & key.is_not_null()
    first = pl.when(ok).then(pl.col(ROW)).min().over(key)
    repeat = ok & (pl.col(ROW) != first)
    reason = pl.concat_str(
        [pl.lit(f"{spec.name}: "), raw.cast(pl.String), pl.lit(" repeats row "), first.cast(pl.String)]
    )
    return marked.with_columns(pl.when(repeat).then(reason).otherwise(pl.col(REASON)).alias(REASON))


def _cast(raw: pl.Expr, raw_dtype: Any, spec: Field) -> pl.Expr:
    import polars as pl

    text = raw_dtype == pl.String
    if spec.dtype == "int":
        return _cast_int(raw, raw_dtype)
    if spec.dtype == "float":
        if raw_dtype == pl.Boolean:
            return pl.lit(None, dtype=pl.Float64)
        return (raw.str.strip_chars() if text else raw).cast(pl.Float64, strict=False)
    if spec.dtype == "bool":
        if raw_dtype == pl.Boolean:
            return raw
        lowered = raw.cast(pl.String).str.strip_chars().str.to_lowercase()
        return pl.when(lowered.is_in(_TRUE)).then(True).when(lowered.is_in(_FALSE)).then(False).otherwise(None)
    if spec.dtype == "date":
        if raw_dtype == pl.Date:
            return raw
        if isinstance(raw_dtype, pl.Datetime):
            return raw.dt.date()
        return raw.cast(pl.String).str.strip_chars().str.to_date(spec.format, strict=False)
    return raw.cast(pl.String)


def _cast_int(raw: pl.Expr, raw_dtype: Any) -> pl.Expr:
    """Integers, and integral floats (``3.0``, ``"1.0"``, ``"1e3"``) as integers; ``1.5``, inf and booleans are not."""
    import polars as pl

    if raw_dtype == pl.Boolean:
        return pl.lit(None, dtype=pl.Int64)
    if raw_dtype.is_integer():
        return raw.cast(pl.Int64, strict=False)
    if raw_dtype == pl.String:
        text = raw.str.strip_chars()
        as_int = text.cast(pl.Int64, strict=False)
        as_float = text.cast(pl.Float64, strict=False)
    else:
        as_int, as_float = pl.lit(None, dtype=pl.Int64), raw.cast(pl.Float64, strict=False)
    integral = as_float.is_finite() & (as_float == as_float.round(0)) & (as_float.abs() < 9.2e18)
    return pl.when(as_int.is_not_null()).then(as_int).when(integral).then(as_float.cast(pl.Int64, strict=False))


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
    if spec.dtype == "float":
        out.append((value.is_infinite(), _say(f"{name}: ", raw_text, " is not a finite number")))
        if not spec.allow_nan:
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
    frame: pl.DataFrame | pl.LazyFrame | ReadResult,
    schema: Schema,
    source: str = "data",
    now: dt.datetime | None = None,
    timezone: str = "UTC",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (valid rows cast to the schema's types, rejected rows with ``row``, ``step``, ``reason``).

    ``frame`` may be a :class:`seek.data.frames.ReadResult`, whose damaged records join the rejected
    rows (step ``read``); ``timezone`` is the zone of naive timestamps (fields may set their own).
    Call :func:`require_rows` and :func:`check_reject_share` on the result before using it.
    """
    result = Pipeline([SchemaStep(schema, now=now, source=source, timezone=timezone)]).run(frame)
    return result.kept, result.rejected
