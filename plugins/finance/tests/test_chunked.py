"""Features computed chunk by chunk of time, or part by part of entity, equal the in-memory features."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from seek_finance.app import FeatureConfig
from seek_finance.chunked import compute_features_chunked, feature_span
from seek_finance.features import compute_features, feature_names
from seek_finance.partitioned import compute_features_partitioned
from seek_finance.simulate import SimulatorConfig, simulate


@pytest.mark.parametrize("days", [3, 11])
def test_chunked_features_equal_the_in_memory_path(small_frame: pl.DataFrame, days: int) -> None:
    # Windows of at most 5 days over 40 days of data: the carried history matters in most chunks.
    cfg = FeatureConfig(
        customer_windows=["1h", "1d", "5d"],
        distinct_windows=["1d", "5d"],
        terminal_windows=["1h", "5d"],
        ratio_windows=["1d", "5d"],
        risk_windows=["1d", "3d"],
        label_delay="2d",
        usual_window="4d",
    )
    assert feature_span(cfg) == timedelta(days=5)
    frame = small_frame.drop("label_available_at", "fraud_scenario")
    names = feature_names(frame.columns, cfg)
    whole = compute_features(frame, cfg).select("transaction_id", *names)
    parts = list(compute_features_chunked(frame.lazy(), cfg, chunk=timedelta(days=days)))
    assert len(parts) == -(-40 // days)
    chunked = pl.concat(parts).select("transaction_id", *names)
    assert chunked.height == whole.height
    for name in names:
        a, b = whole.get_column(name), chunked.get_column(name)
        if a.dtype.is_float():
            assert ((a - b).abs().fill_null(0) <= 1e-9 * (1 + a.abs().fill_null(0))).all(), name
            assert (a.is_null() == b.is_null()).all(), name
        else:
            assert a.equals(b), name


def _assert_same(whole: pl.DataFrame, got: pl.DataFrame) -> None:
    assert got.columns == whole.columns
    assert got.height == whole.height
    for name in whole.columns:
        assert whole.get_column(name).equals(got.get_column(name)), name


@pytest.mark.parametrize(("rows_per_part", "chunk_rows"), [(1500, 2500), (1500, 10**9), (10**9, 2500)])
def test_partitioned_features_equal_the_in_memory_path_with_every_modality(
    small_frame: pl.DataFrame, tmp_path: Path, rows_per_part: int, chunk_rows: int
) -> None:
    # Rows shuffled and sliced unevenly: positions, not the input order, decide where a row lands.
    frame = small_frame.drop("label_available_at", "fraud_scenario").sample(fraction=1.0, shuffle=True, seed=3)
    cfg = FeatureConfig()
    whole = compute_features(frame, cfg)
    chunks = list(
        compute_features_partitioned(
            frame.lazy(), tmp_path / "work", cfg, rows_per_part=rows_per_part, slice_rows=3001, chunk_rows=chunk_rows
        )
    )
    assert len(chunks) == -(-frame.height // min(chunk_rows, frame.height))
    _assert_same(whole, pl.concat(chunks))
    assert not (tmp_path / "work").exists()


def test_partitioned_features_equal_the_in_memory_path_on_transactions_only(tmp_path: Path) -> None:
    frame = simulate(SimulatorConfig(n_customers=80, n_terminals=300, n_days=30, seed=3, devices=False, sessions=False))
    frame = frame.drop("fraud_scenario")
    whole = compute_features(frame, FeatureConfig())
    path = tmp_path / "tx.parquet"
    frame.write_parquet(path)
    chunks = compute_features_partitioned(pl.scan_parquet(path), tmp_path / "work", rows_per_part=700, chunk_rows=999)
    _assert_same(whole, pl.concat(list(chunks)))


def test_partitioned_features_name_a_missing_column(tmp_path: Path) -> None:
    frame = pl.DataFrame({"transaction_id": [1], "timestamp": [datetime(2018, 4, 1)], "customer_id": [1]})
    with pytest.raises(ValueError, match="amount"):
        list(compute_features_partitioned(frame.lazy(), tmp_path / "work"))


def test_partitioned_command_writes_the_in_memory_features_and_names_a_missing_file(tmp_path: Path) -> None:
    from seek_finance.partitioned import main

    frame = simulate(SimulatorConfig(n_customers=40, n_terminals=200, n_days=12, seed=1))
    frame.write_parquet(tmp_path / "tx.parquet")
    main([str(tmp_path / "tx.parquet"), str(tmp_path / "features.parquet"), "--rows-per-part", "300"])
    _assert_same(compute_features(frame, FeatureConfig()), pl.read_parquet(tmp_path / "features.parquet"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features.parquet", "tx.parquet"]
    with pytest.raises(SystemExit, match="no such payments file"):
        main([str(tmp_path / "missing.parquet"), str(tmp_path / "out.parquet")])


def test_a_feature_no_pass_produces_is_an_error_not_a_gap(
    small_frame: pl.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import seek_finance.partitioned as partitioned

    # As if features.py had put a card feature under a terminal name: the terminal pass cannot make it.
    owner = partitioned._owner
    monkeypatch.setattr(partitioned, "_owner", lambda name: "terminal" if name == "cust_count_1h" else owner(name))
    frame = small_frame.drop("label_available_at", "fraud_scenario")
    with pytest.raises(RuntimeError, match="cust_count_1h"):
        list(compute_features_partitioned(frame.lazy(), tmp_path / "work", rows_per_part=3000))
    assert not (tmp_path / "work").exists()
