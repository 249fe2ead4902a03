"""Loading user files: column mapping, rejected rows with reasons, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from seek.errors import DataError
from seek_finance.data import load_transactions

HANDBOOK_MAP = {
    "transaction_id": "TRANSACTION_ID",
    "timestamp": "TX_DATETIME",
    "customer_id": "CUSTOMER_ID",
    "terminal_id": "TERMINAL_ID",
    "amount": "TX_AMOUNT",
    "is_fraud": "TX_FRAUD",
}
CSV = """TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD
0,2018-04-01 00:00:31,596,3156,57.16,0
1,2018-04-01 00:02:10,4961,3412,81.51,0
2,not a date,2,1365,146.00,0
3,2018-04-01 00:09:29,,2765,64.49,0
4,2018-04-01 00:10:34,927,9906,NaN,0
5,2018-04-01 00:10:45,568,8803,-3,1
1,2018-04-01 00:11:00,568,8803,12.00,0
6,2018-04-01 00:11:45,568,8803,3,1
"""


@pytest.fixture
def handbook_csv(tmp_path: Path) -> Path:
    path = tmp_path / "handbook.csv"
    path.write_text(CSV)
    return path


def test_handbook_file_loads_through_the_column_map(handbook_csv: Path) -> None:
    loaded = load_transactions(handbook_csv, HANDBOOK_MAP)
    assert loaded.frame["transaction_id"].to_list() == [0, 1, 6]
    assert set(loaded.frame.columns) == {*HANDBOOK_MAP, "label_available_at"}
    assert loaded.frame["customer_id"].dtype.is_integer()


def test_bad_rows_are_counted_and_kept_with_their_reason(handbook_csv: Path) -> None:
    loaded = load_transactions(handbook_csv, HANDBOOK_MAP)
    assert loaded.n_input == 8 and loaded.rejected.height == 5
    reasons = dict(zip(loaded.rejected["row"].to_list(), loaded.rejected["reason"].to_list(), strict=True))
    assert "timestamp" in reasons[2] and "not a timestamp" in reasons[2]
    assert "customer_id" in reasons[3] and "missing" in reasons[3]
    assert "NaN" in reasons[4]
    assert "below the minimum" in reasons[5]
    assert "repeats" in reasons[6]


def test_missing_core_column_names_the_field_and_the_fix(handbook_csv: Path) -> None:
    partial = {k: v for k, v in HANDBOOK_MAP.items() if k != "terminal_id"}
    with pytest.raises(DataError, match=r"'terminal_id' is missing; map it with --set column_map.terminal_id"):
        load_transactions(handbook_csv, partial)


def test_mapping_to_an_absent_column_is_a_one_line_error(handbook_csv: Path) -> None:
    with pytest.raises(DataError, match="TX_TIME"):
        load_transactions(handbook_csv, {**HANDBOOK_MAP, "timestamp": "TX_TIME"})


def test_string_ids_stay_strings(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,ts,card,shop,amt\nA1,2020-01-01T10:00:00,c1,m1,3.5\nA2,2020-01-01T11:00:00,c1,m2,4\n")
    loaded = load_transactions(
        path, {"transaction_id": "id", "timestamp": "ts", "customer_id": "card", "terminal_id": "shop", "amount": "amt"}
    )
    assert loaded.frame["transaction_id"].to_list() == ["A1", "A2"]
    assert loaded.rejected.height == 0
