"""The transactions DataSpec: user files through the core reader, rejected rows with reasons, any timestamp format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from seek.data.spec import DataInput, load_table
from seek.errors import DataError
from seek_finance.data import canonical, transactions_spec

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
7,2018-04-01 00:12:00,568,8803,inf,0
8,2018-04-01 00:13:00,568,8803,1e308,0
9,2018-04-01 00:14:00,568,8803,4.5,
10,2018-04-01 00:15:00,568,8803,5.5,1.0
"""


def _load(path: Path, mapping: dict[str, str] | None = None, timezone: str = "UTC"):
    spec = transactions_spec(timezone)
    return load_table(DataInput(path, mapping=spec.resolve_mapping(mapping or {})), spec)


@pytest.fixture
def handbook_csv(tmp_path: Path) -> Path:
    path = tmp_path / "handbook.csv"
    path.write_text(CSV)
    return path


def test_bad_rows_are_rejected_with_their_row_and_reason(handbook_csv: Path) -> None:
    table = _load(handbook_csv, HANDBOOK_MAP)
    assert table.rows_in == 12 and table.rejected["row"].is_not_null().all()
    assert table.frame["transaction_id"].to_list() == ["0", "1", "6", "9", "10"]
    ids = [str(i).strip() for i in table.rejected["transaction_id"].to_list()]
    reasons = dict(zip(ids, table.rejected["reason"].to_list(), strict=True))
    assert set(reasons) == {"1", "2", "3", "4", "5", "7", "8"}
    assert "not a timestamp" in reasons["2"] and "customer_id" in reasons["3"] and "NaN" in reasons["4"]
    assert "below the minimum" in reasons["5"]
    assert "transaction_id" in reasons["1"]  # the second row with id 1
    assert "amount" in reasons["7"] and "amount" in reasons["8"]  # inf and 1e308: outside the declared bounds


def test_a_blank_label_is_unlabelled_and_an_integral_float_label_is_an_integer(handbook_csv: Path) -> None:
    frame = canonical(_load(handbook_csv, HANDBOOK_MAP).frame, timedelta(days=7))
    labels = dict(zip(frame["transaction_id"].to_list(), frame["is_fraud"].to_list(), strict=True))
    assert labels[9] is None and labels[10] == 1
    assert frame["customer_id"].dtype.is_integer() and frame["timestamp"].dtype == pl.Datetime("us")


def test_mapping_an_unknown_field_or_an_absent_column_is_one_line(handbook_csv: Path) -> None:
    from seek.errors import ConfigError

    with pytest.raises(ConfigError, match="merchant_categry"):
        transactions_spec().resolve_mapping({"merchant_categry": "MCC"})
    with pytest.raises(DataError, match="TX_TIME"):
        _load(handbook_csv, {**HANDBOOK_MAP, "timestamp": "TX_TIME"})


def test_string_ids_stay_strings(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,ts,card,shop,amt\nA1,2020-01-01T10:00:00,c1,m1,3.5\nA2,2020-01-01T11:00:00,c1,m2,4\n")
    mapping = {"transaction_id": "id", "timestamp": "ts", "customer_id": "card", "terminal_id": "shop", "amount": "amt"}
    frame = canonical(_load(path, mapping).frame, timedelta(days=7))
    assert frame["transaction_id"].to_list() == ["A1", "A2"] and frame["customer_id"].dtype == pl.String


def test_naive_times_follow_the_timezone_setting_and_offsets_are_converted(tmp_path: Path) -> None:
    path = tmp_path / "tz.csv"
    path.write_text(
        "transaction_id,timestamp,customer_id,terminal_id,amount\n"
        "1,2020-06-01 12:00:00,1,1,5\n2,2020-06-01T12:00:00+02:00,1,1,5\n3,2020-06-01T10:00:00Z,1,1,5\n"
    )
    utc = _load(path).frame["timestamp"].to_list()
    brussels = _load(path, timezone="Europe/Brussels").frame["timestamp"].to_list()
    assert utc == [datetime(2020, 6, 1, 12), datetime(2020, 6, 1, 10), datetime(2020, 6, 1, 10)]
    assert brussels == [datetime(2020, 6, 1, 10)] * 3


def _write_every_way(frame: pl.DataFrame, folder: Path) -> dict[str, Path]:
    """The same payments as CSV (ISO text, epoch ms), pandas parquet (datetime[ns], tz-aware), polars, JSON lines."""
    paths = {}
    iso = frame.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%.6f"))
    paths["csv-iso"] = folder / "a.csv"
    iso.write_csv(paths["csv-iso"])
    paths["csv-epoch-ms"] = folder / "b.csv"
    frame.with_columns(pl.col("timestamp").dt.epoch("ms")).write_csv(paths["csv-epoch-ms"])
    paths["parquet-polars-ms"] = folder / "c.parquet"
    frame.with_columns(pl.col("timestamp").dt.cast_time_unit("ms")).write_parquet(paths["parquet-polars-ms"])
    pdf = frame.to_pandas()
    pdf["timestamp"] = pdf["timestamp"].astype("datetime64[ns]")
    paths["parquet-pandas-ns"] = folder / "d.parquet"
    pdf.to_parquet(paths["parquet-pandas-ns"])
    aware = pdf.copy()
    aware["timestamp"] = aware["timestamp"].dt.tz_localize(UTC).dt.tz_convert("Asia/Tokyo")
    paths["parquet-pandas-tokyo"] = folder / "e.parquet"
    aware.to_parquet(paths["parquet-pandas-tokyo"])
    paths["jsonl-offset"] = folder / "f.jsonl"
    frame.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00")).write_ndjson(
        paths["jsonl-offset"]
    )
    return paths


def test_every_timestamp_unit_timezone_and_format_gives_identical_features(small_frame, tmp_path: Path) -> None:
    from seek_finance.app import FeatureConfig
    from seek_finance.features import compute_features, feature_names

    core = small_frame.select("transaction_id", "timestamp", "customer_id", "terminal_id", "amount", "is_fraud")
    core = core.with_columns(pl.col("timestamp").dt.truncate("1ms")).head(3000)  # epoch ms keeps whole ms
    cfg = FeatureConfig()
    names = feature_names(core.columns, cfg)
    results = {}
    for kind, path in _write_every_way(core, tmp_path).items():
        table = _load(path)
        assert table.rejected.height == 0, (kind, table.rejected.head(3))
        results[kind] = compute_features(canonical(table.frame, cfg.label_delay), cfg).select("timestamp", *names)
    first = next(iter(results.values()))
    for kind, feats in results.items():
        assert feats.equals(first), kind


def test_a_simulation_without_devices_and_sessions_has_only_transaction_features(tmp_path: Path) -> None:
    from seek.artifacts import load_artifact
    from seek.config import resolve_config
    from seek.runner import execute
    from seek.runs import load_run
    from seek_finance.app import FraudApp

    app = FraudApp()
    handbook = ["simulator.devices=false", "simulator.sessions=false", "sequence.enabled=false"]
    config = resolve_config(app.Config, base=app.tiny, overrides=handbook)
    execute(app, config, out=tmp_path / "run", device="cpu", show_progress=False)
    run = load_run(tmp_path / "run")
    names = load_artifact(run, "scorer")["names"]
    assert "term_risk_7d" in names and "cust_count_1d" in names
    assert not [n for n in names if n.startswith(("device_", "geo_", "session_", "cust_distinct_devices"))]
    assert "device no, geo no, behaviour no" in (run.path / "report.md").read_text()
