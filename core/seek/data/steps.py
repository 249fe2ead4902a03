"""The Step protocol and the pipeline runner that accounts for every removed or changed row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import polars as pl

#: Column a step sets to a reason string for rows it removes (null keeps the row).
REASON = "__seek_reason"
#: Optional boolean column a step sets to true for rows whose values it changed.
CHANGED = "__seek_changed"
#: Original 0-based row number, added by the pipeline and kept through every step.
ROW = "__seek_row"
#: Columns of the rejected frame besides the original row's own columns.
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

    def counts(self) -> dict[str, Any]:
        """A JSON-ready summary: rows in / kept / rejected and each step's counts."""
        return {
            "rows_in": self.rows_in,
            "rows_kept": self.kept.height,
            "rows_rejected": self.rejected.height,
            "steps": [asdict(step) for step in self.steps],
        }


class Pipeline:
    """Run Steps in order over a frame; removed rows go to ``rejected`` with the step and reason."""

    def __init__(self, steps: Sequence[Step], top_reasons: int = 10) -> None:
        self.steps = list(steps)
        self.top_reasons = top_reasons
        names = [step.name for step in self.steps]
        duplicates = {name for name in names if names.count(name) > 1}
        if duplicates:
            raise ValueError(f"step names must be unique, repeated: {sorted(duplicates)}")

    def run(self, frame: pl.DataFrame | pl.LazyFrame, keep_row_numbers: bool = False) -> PipelineResult:
        """Apply every step; ``keep_row_numbers`` keeps the original row number as column ``row`` in ``kept``."""
        import polars as pl

        original = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
        for reserved in (ROW, REASON, CHANGED):
            if reserved in original.columns:
                raise ValueError(f"column {reserved!r} is reserved by the pipeline")
        current = original.with_row_index(ROW)
        counts: list[StepCount] = []
        rejected_parts: list[pl.DataFrame] = []
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
        rejected = _rejected_frame(original, rejected_parts)
        kept_out = current.rename({ROW: "row"}) if keep_row_numbers else current.drop(ROW)
        return PipelineResult(kept=kept_out, rejected=rejected, steps=counts, rows_in=original.height)


def _rejected_frame(original: pl.DataFrame, parts: list[pl.DataFrame]) -> pl.DataFrame:
    """Join the removed row numbers back to the input so the rejected frame holds the original values."""
    import polars as pl

    meta = pl.concat(parts) if parts else pl.DataFrame(schema={ROW: pl.UInt32, "step": pl.String, "reason": pl.String})
    clash = [c for c in REJECTED_COLUMNS if c in original.columns]
    source = original.rename({c: f"{c}_" for c in clash}) if clash else original
    meta = meta.sort(ROW)
    # A gather by row number: cost follows the rejected rows, not the input size.
    values = source[meta[ROW].cast(pl.Int64)] if meta.height else source.clear()
    return pl.concat([meta.rename({ROW: "row"}), values], how="horizontal")
