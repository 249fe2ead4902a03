"""The Step protocol and the pipeline runner that accounts for every removed or changed row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import polars as pl

    from seek.data.frames import ReadResult

#: Column a step sets to a reason string for rows it removes (null keeps the row).
REASON = "__seek_reason"
#: Optional boolean column a step sets to true for rows whose values it changed.
CHANGED = "__seek_changed"
#: The source's row number, added by the pipeline and kept through every step: the file's line number for
#: CSV (header = line 1, first data row = line 2), the 1-based record number for parquet, JSON lines and
#: in-memory frames (see :mod:`seek.data.frames`). Reasons that point at another row use the same number.
ROW = "__seek_row"
#: Columns of the rejected frame besides the original row's own columns (``raw`` is added when the
#: reader rejected records: their text as it was in the file).
REJECTED_COLUMNS = ("row", "step", "reason")


@runtime_checkable
class Step(Protocol):
    """One cleaning step: ``name`` and ``checks`` (a sentence) describe it; ``apply`` marks rows.

    ``apply`` receives a lazy frame that carries the pipeline's row-number column ``ROW`` and returns a
    lazy frame with the same rows in any order, plus a ``REASON`` string column (null to keep the row,
    otherwise why it is removed) and optionally a ``CHANGED`` boolean column (rows it modified).
    It must not add or drop rows: the runner does the removing, so nothing disappears silently.
    """

    name: str
    checks: str

    def apply(self, frame: pl.LazyFrame) -> pl.LazyFrame: ...


@dataclass
class FunctionStep:
    """Wrap a function ``frame -> frame with REASON`` as a Step (for plugins' small domain checks)."""

    name: str
    checks: str
    fn: Callable[[pl.LazyFrame], pl.LazyFrame]

    def apply(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """Run the wrapped function."""
        return self.fn(frame)


def mark_rejects(frame: pl.LazyFrame, checks: Sequence[tuple[pl.Expr, str | pl.Expr]]) -> pl.LazyFrame:
    """Add ``REASON``: the reason of the first true condition per row, null when none is.

    Conditions are cheap booleans evaluated on every row; the reason strings are built only for the
    failing rows (polars evaluates every branch of a when/then, so building them for all rows would
    format millions of strings that are thrown away).
    """
    import polars as pl

    if not checks:
        return frame.with_columns(pl.lit(None, dtype=pl.String).alias(REASON))
    flags = [f"__seek_fail{i}" for i in range(len(checks))]
    flagged = frame.with_columns(
        [cond.fill_null(False).alias(flag) for (cond, _), flag in zip(checks, flags, strict=True)]
    )
    failed = pl.any_horizontal(flags)
    reasons = [
        pl.when(pl.col(flag)).then(pl.lit(reason) if isinstance(reason, str) else reason.cast(pl.String))
        for (_, reason), flag in zip(checks, flags, strict=True)
    ]
    good = flagged.filter(~failed).with_columns(pl.lit(None, dtype=pl.String).alias(REASON))
    bad = flagged.filter(failed).with_columns(pl.coalesce(reasons).alias(REASON))
    return pl.concat([good, bad], how="vertical").drop(flags)


def reject_when(name: str, checks: str, condition: pl.Expr, reason: str | pl.Expr) -> FunctionStep:
    """A Step removing rows where ``condition`` is true, with ``reason`` (a string or a string expression)."""
    return FunctionStep(name, checks, lambda frame: mark_rejects(frame, [(condition, reason)]))


@dataclass
class StepCount:
    """What one step did: rows in, kept, removed, changed, and the most common reasons."""

    name: str
    checks: str
    rows_in: int
    kept: int
    rejected: int
    changed: int
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class PipelineResult:
    """Kept rows, rejected rows (original values + ``row``, ``step``, ``reason``) and per-step counts."""

    kept: pl.DataFrame
    rejected: pl.DataFrame
    steps: list[StepCount]
    rows_in: int
    #: Kept rows with a blank label (None when no step declares a label field): unlabelled, not rejected.
    unlabelled: int | None = None

    def counts(self) -> dict[str, Any]:
        """A JSON-ready summary: rows in / kept / rejected and each step's counts."""
        summary: dict[str, Any] = {
            "rows_in": self.rows_in,
            "rows_kept": self.kept.height,
            "rows_rejected": self.rejected.height,
            "steps": [asdict(step) for step in self.steps],
        }
        if self.unlabelled is not None:
            summary["rows_unlabelled"] = self.unlabelled
        return summary


class Pipeline:
    """Run Steps in order over a frame; removed rows go to ``rejected`` with the step and reason."""

    def __init__(self, steps: Sequence[Step], top_reasons: int = 10) -> None:
        """``steps`` run in order; ``top_reasons`` is how many reasons each step's count keeps."""
        self.steps = list(steps)
        self.top_reasons = top_reasons
        names = [step.name for step in self.steps]
        duplicates = {name for name in names if names.count(name) > 1}
        if duplicates:
            raise ValueError(f"step names must be unique, repeated: {sorted(duplicates)}")

    def run(
        self,
        frame: pl.DataFrame | pl.LazyFrame | ReadResult,
        keep_row_numbers: bool = False,
        rows: Sequence[int] | pl.Series | None = None,
    ) -> PipelineResult:
        """Apply every step; ``keep_row_numbers`` keeps each row's number as column ``row`` in ``kept``.

        ``frame`` may be a :class:`seek.data.frames.ReadResult`: its row numbers are used and the records
        the reader rejected come first in the counts (step ``read``) and in ``rejected``. ``rows`` gives
        the row numbers of an in-memory frame (ascending); by default they are 1, 2, 3, ...
        """
        import polars as pl

        from seek.data import frames

        read_rejected = None
        if isinstance(frame, frames.ReadResult):
            read_rejected, rows, frame = frame.rejected, frame.rows, frame.frame
        original = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
        assert isinstance(original, pl.DataFrame)
        for reserved in (ROW, REASON, CHANGED):
            if reserved in original.columns:
                raise ValueError(f"column {reserved!r} is reserved by the pipeline")
        numbers = _row_numbers(rows, original.height)
        current = original.with_columns(numbers.alias(ROW)).select(ROW, *original.columns)
        counts: list[StepCount] = []
        rejected_parts: list[pl.DataFrame] = []
        if read_rejected is not None and read_rejected.height:
            counts.append(_read_count(read_rejected, original.height, self.top_reasons))
        for step in self.steps:
            marked = step.apply(current.lazy()).collect()
            if REASON not in marked.columns:
                raise TypeError(f"step {step.name!r} did not add the {REASON!r} column")
            if marked.height != current.height:
                raise TypeError(f"step {step.name!r} changed the row count ({current.height} -> {marked.height})")
            removed_mask = marked[REASON].is_not_null()
            removed = marked.filter(removed_mask).select(
                pl.col(ROW), pl.lit(step.name).alias("step"), pl.col(REASON).cast(pl.String).alias("reason")
            )
            kept = marked.filter(~removed_mask)
            changed = int(kept[CHANGED].fill_null(False).sum()) if CHANGED in kept.columns else 0
            reasons = (
                removed.group_by("reason")
                .len()
                .sort(["len", "reason"], descending=[True, False])
                .head(self.top_reasons)
            )
            counts.append(
                StepCount(
                    name=step.name,
                    checks=step.checks,
                    rows_in=current.height,
                    kept=kept.height,
                    rejected=removed.height,
                    changed=changed,
                    reasons=dict(zip(reasons["reason"].to_list(), reasons["len"].to_list(), strict=True)),
                )
            )
            rejected_parts.append(removed)
            current = kept.drop([c for c in (REASON, CHANGED) if c in kept.columns])
            if not current[ROW].is_sorted():
                current = current.sort(ROW)
        rejected = _rejected_frame(original, numbers, rejected_parts, read_rejected)
        unlabelled = _unlabelled(self.steps, current)
        kept_out = current.rename({ROW: "row"}) if keep_row_numbers else current.drop(ROW)
        rows_in = original.height + (read_rejected.height if read_rejected is not None else 0)
        return PipelineResult(kept=kept_out, rejected=rejected, steps=counts, rows_in=rows_in, unlabelled=unlabelled)


def _row_numbers(rows: Sequence[int] | pl.Series | None, height: int) -> pl.Series:
    """The row numbers as an ascending Int64 series (1..n when not given)."""
    import polars as pl

    if rows is None:
        return pl.int_range(1, height + 1, dtype=pl.Int64, eager=True)
    numbers = pl.Series(rows, dtype=pl.Int64) if not isinstance(rows, pl.Series) else rows.cast(pl.Int64)
    if numbers.len() != height:
        raise ValueError(f"rows: {numbers.len()} row numbers for {height} rows")
    if height > 1 and not (numbers.diff().drop_nulls() > 0).all():
        raise ValueError("rows: row numbers must be strictly ascending")
    return numbers


def _read_count(read_rejected: pl.DataFrame, good: int, top: int) -> StepCount:
    from seek.data.frames import READ_STEP

    reasons = read_rejected.group_by("reason").len().sort(["len", "reason"], descending=[True, False]).head(top)
    return StepCount(
        name=READ_STEP,
        checks="records parse: valid UTF-8, balanced quotes, the header's number of fields",
        rows_in=good + read_rejected.height,
        kept=good,
        rejected=read_rejected.height,
        changed=0,
        reasons=dict(zip(reasons["reason"].to_list(), reasons["len"].to_list(), strict=True)),
    )


def _unlabelled(steps: Sequence[Step], kept: pl.DataFrame) -> int | None:
    """Kept rows whose label is blank, when a step declares the label field (``label_field``)."""
    for step in steps:
        label = getattr(step, "label_field", None)
        if label is not None:
            return int(kept[label].null_count()) if label in kept.columns else kept.height
    return None


def _rejected_frame(
    original: pl.DataFrame, numbers: pl.Series, parts: list[pl.DataFrame], read_rejected: pl.DataFrame | None
) -> pl.DataFrame:
    """Join the removed row numbers back to the input so the rejected frame holds the original values."""
    import polars as pl

    meta = pl.concat(parts) if parts else pl.DataFrame(schema={ROW: pl.Int64, "step": pl.String, "reason": pl.String})
    clash = [c for c in (*REJECTED_COLUMNS, "raw") if c in original.columns]
    source = original.rename({c: f"{c}_" for c in clash}) if clash else original
    meta = meta.sort(ROW)
    # A gather by position (row numbers ascend, so a binary search finds it): cost follows the rejected rows.
    positions = numbers.search_sorted(meta[ROW]) if meta.height else None
    values = source[positions] if positions is not None else source.clear()
    out = pl.concat([meta.rename({ROW: "row"}), values], how="horizontal")
    if read_rejected is None or not read_rejected.height:
        return out
    return pl.concat([read_rejected, out], how="diagonal_relaxed").sort("row", maintain_order=True)
