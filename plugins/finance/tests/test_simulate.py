"""The simulator: deterministic, the Handbook's scenarios, the extra modalities."""

from __future__ import annotations

import polars as pl

from seek_finance.simulate import EVENTS, SimulatorConfig, simulate


def test_same_seed_gives_the_same_frame_and_another_seed_does_not() -> None:
    cfg = SimulatorConfig(n_customers=50, n_terminals=100, n_days=10, seed=1)
    first, again = simulate(cfg), simulate(cfg)
    other = simulate(SimulatorConfig(n_customers=50, n_terminals=100, n_days=10, seed=2))
    assert first.equals(again)
    assert not first.equals(other)


def test_frame_has_the_schema_and_is_in_time_order(small_frame: pl.DataFrame) -> None:
    for name in (
        "transaction_id",
        "timestamp",
        "customer_id",
        "terminal_id",
        "amount",
        "device_id",
        "ip_lat",
        "ip_lon",
        "session_events",
        "session_seconds",
        "is_fraud",
    ):
        assert name in small_frame.columns
    assert small_frame.get_column("timestamp").is_sorted()
    assert small_frame.get_column("transaction_id").is_unique().all()


def test_amounts_above_220_are_fraud_and_every_scenario_occurs(small_frame: pl.DataFrame) -> None:
    assert small_frame.filter(pl.col("amount") > 220)["is_fraud"].min() == 1
    scenarios = set(small_frame.filter(pl.col("is_fraud") == 1)["fraud_scenario"].unique().to_list())
    assert scenarios == {1, 2, 3, 4}


def test_takeover_frauds_come_with_failed_logins_and_new_devices(small_frame: pl.DataFrame) -> None:
    ato = small_frame.filter(pl.col("fraud_scenario") == 4)
    genuine = small_frame.filter(pl.col("is_fraud") == 0)
    assert ato["session_events"].str.contains("login_fail").mean() == 1.0
    assert genuine["session_events"].str.contains("login_fail").mean() < 0.1
    events = set("|".join(small_frame["session_events"].to_list()).split("|"))
    assert events <= set(EVENTS)
    assert all(s.endswith("payment") for s in small_frame["session_events"].head(50))


def test_handbook_only_mode_has_no_device_or_session_columns() -> None:
    frame = simulate(SimulatorConfig(n_customers=30, n_terminals=60, n_days=5, devices=False, sessions=False))
    assert "device_id" not in frame.columns and "session_events" not in frame.columns
    assert 4 not in frame["fraud_scenario"].to_list()
