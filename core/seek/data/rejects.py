"""What to do once rows are rejected: fail on an empty result, warn or fail on a large rejected share.

Apps (and the runner, for ``--accept-rejects``) call these on the output of ``validate`` or a Pipeline::

    kept, rejected = validate(read_table(path, as_text=True), schema, source=path)
    require_rows(kept, rejected, source=path)            # DataError "all 13,838 rows rejected: ..."
    check_reject_share(kept.height + rejected.height, rejected, source=path, accept=config.accept_rejects)
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from seek.errors import DataError

if TYPE_CHECKING:
    import polars as pl

logger = logging.getLogger("seek.data")

#: Above this share of rejected rows a run says so on stderr.
WARN_SHARE = 0.01
#: Above this share a run fails unless told to accept it (``--accept-rejects``).
LIMIT_SHARE = 0.20


def top_reasons(rejected: pl.DataFrame, n: int = 3) -> str:
    """The ``n`` most common reasons with their counts: ``"amount: NaN (12), ... and 4 more reasons"``."""
    if rejected.height == 0 or "reason" not in rejected.columns:
        return ""
    counts = rejected.group_by("reason").len().sort(["len", "reason"], descending=[True, False])
    shown = ", ".join(f"{reason} ({count:,})" for reason, count in counts.head(n).iter_rows())
    more = counts.height - n
    return shown + (f" and {more:,} more reason{'s' if more > 1 else ''}" if more > 0 else "")


def require_rows(
    kept: pl.DataFrame,
    rejected: pl.DataFrame,
    source: str,
    rows_in: int | None = None,
    rejected_file: str = "rejected.parquet",
) -> None:
    """Raise one DataError line when no valid row is left: every row rejected, or no data rows at all."""
    if kept.height > 0:
        return
    total = rows_in if rows_in is not None else kept.height + rejected.height
    if total == 0:
        raise DataError(f"{source}: no data rows (the file holds at most a header)")
    raise DataError(f"{source}: all {total:,} rows rejected: {top_reasons(rejected)}; see {rejected_file}")


def check_reject_share(
    rows_in: int,
    rejected: int | pl.DataFrame,
    source: str,
    warn: float = WARN_SHARE,
    limit: float = LIMIT_SHARE,
    accept: bool = False,
    rejected_file: str = "rejected.parquet",
) -> float:
    """Return the rejected share; log a warning above ``warn``, raise DataError above ``limit`` unless ``accept``.

    The warning goes through the ``seek.data`` logger (stderr at the CLI), one line naming the source,
    the counts and the top reasons.
    """
    count = rejected if isinstance(rejected, int) else rejected.height
    share = count / rows_in if rows_in else 0.0
    reasons = "" if isinstance(rejected, int) else f": {top_reasons(rejected)}"
    said = f"{source}: {count:,} of {rows_in:,} rows rejected ({share:.1%}){reasons}; see {rejected_file}"
    if share > limit and not accept:
        raise DataError(f"{said}; above the {limit:.0%} limit (pass --accept-rejects to go on)")
    if share > warn:
        logger.warning(said)
    return share
