"""The simulator: deterministic, the Handbook's scenarios, the extra modalities."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from seek_finance.simulate import EVENTS, SimulatorConfig, simulate, simulate_blocks, write_simulation


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


def test_block_simulation_is_one_world_in_time_order_and_deterministic(tmp_path) -> None:
    cfg = SimulatorConfig(n_customers=400, n_terminals=800, n_days=30, seed=5, compromised_terminals_per_day=20)
    blocks = list(simulate_blocks(cfg, days_per_block=7))
    assert len(blocks) == 5
    frame = pl.concat(blocks)
    assert frame["transaction_id"].to_list() == list(range(frame.height))
    assert frame["timestamp"].is_sorted()
    assert pl.concat(list(simulate_blocks(cfg, days_per_block=7))).equals(frame)
    assert write_simulation(tmp_path / "tx.parquet", cfg, days_per_block=7) == frame.height
    assert pl.read_parquet(tmp_path / "tx.parquet").equals(frame)
    # A terminal compromised in one block stays compromised in the next (its 28 days are drawn once).
    s2 = frame.filter(pl.col("fraud_scenario") == 2).with_columns(
        ((pl.col("timestamp") - pl.lit(datetime(2018, 4, 1))).dt.total_days() // 7).alias("block")
    )
    spans = s2.group_by("terminal_id").agg(pl.col("block").n_unique().alias("blocks"))
    assert spans["blocks"].max() >= 2
    # Devices are one world too: a card's own devices recur across blocks, new phones never collide.
    first, last = blocks[0], blocks[-1]
    assert first.join(last, on=["customer_id", "device_id"]).height > 0


def test_block_simulation_has_the_distribution_of_simulate() -> None:
    cfg = SimulatorConfig(n_customers=1500, n_days=40, seed=2)
    whole, blocks = simulate(cfg), pl.concat(list(simulate_blocks(cfg, days_per_block=6)))
    assert whole.schema == blocks.schema
    assert abs(blocks.height / whole.height - 1) < 0.02
    assert abs(blocks["amount"].mean() / whole["amount"].mean() - 1) < 0.02  # type: ignore[operator]
    for f in (whole, blocks):
        assert set(f["fraud_scenario"].unique().to_list()) == {0, 1, 2, 3, 4}
    rate = {name: f["is_fraud"].mean() for name, f in (("whole", whole), ("blocks", blocks))}
    assert abs(rate["blocks"] / rate["whole"] - 1) < 0.35  # type: ignore[operator]
    # The same seed draws the same customers: each card's payment rate agrees.
    per_card = [f.group_by("customer_id").len().sort("customer_id") for f in (whole, blocks)]
    joined = per_card[0].join(per_card[1], on="customer_id")
    assert joined.select(pl.corr("len", "len_right")).item() > 0.95
