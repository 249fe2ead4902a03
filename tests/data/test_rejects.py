"""Empty results and large rejected shares: one DataError line, or one warning on stderr."""

from __future__ import annotations

import logging

import polars as pl
import pytest

from seek.data.rejects import check_reject_share, require_rows
from seek.data.schema import Field, Schema, validate
from seek.errors import DataError


def test_all_rows_rejected_is_one_line_with_top_reasons() -> None:
    schema = Schema([Field("is_fraud", "int", allowed=[0, 1])])
    kept, rejected = validate(pl.DataFrame({"is_fraud": ["yes"] * 13_000 + ["2"] * 838}), schema)
    with pytest.raises(DataError) as info:
        require_rows(kept, rejected, source="tx.csv")
    message = str(info.value)
    assert message == (
        "tx.csv: all 13,838 rows rejected: is_fraud: yes is not an integer (13,000), "
        "is_fraud: 2 not one of 0, 1 (838); see rejected.parquet"
    )
    assert "\n" not in message


def test_header_only_input_is_one_line() -> None:
    empty = pl.DataFrame({"a": []}, schema={"a": pl.String})
    with pytest.raises(DataError, match=r"^h\.csv: no data rows \(the file holds at most a header\)$"):
        require_rows(empty, empty.clear(), source="h.csv")
    require_rows(pl.DataFrame({"a": ["1"]}), empty, source="ok.csv")  # rows left: nothing raised


def test_reject_share_warns_above_one_percent_and_fails_above_the_limit(caplog: pytest.LogCaptureFixture) -> None:
    rejected = pl.DataFrame({"reason": ["t: x is not a timestamp"] * 30})
    with caplog.at_level(logging.WARNING, logger="seek.data"):
        assert check_reject_share(1000, rejected, "tx.csv") == pytest.approx(0.03)
    assert caplog.messages == [
        "tx.csv: 30 of 1,000 rows rejected (3.0%): t: x is not a timestamp (30); see rejected.parquet"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="seek.data"):
        check_reject_share(1000, 10, "tx.csv")
    assert caplog.messages == []
    with pytest.raises(DataError, match=r"670 of 1,000 rows rejected \(67\.0%\).*above the 20% limit"):
        check_reject_share(1000, 670, "tx.csv")
    assert check_reject_share(1000, 670, "tx.csv", accept=True) == pytest.approx(0.67)
    with pytest.raises(DataError, match="above the 5% limit"):
        check_reject_share(100, 6, "tx.csv", warn=0.0, limit=0.05)
    assert check_reject_share(0, 0, "empty.csv") == 0.0
