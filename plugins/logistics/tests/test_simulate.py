"""The simulator's quarterly regimes and its determinism."""

from __future__ import annotations

import polars as pl

from seek_logistics.data import with_targets
from seek_logistics.simulate import SimulatorConfig, simulate, simulate_quarter


def test_same_seed_same_rows_and_a_quarter_alone_equals_it_in_a_stream() -> None:
    config = SimulatorConfig(quarters=5, shipments_per_quarter=200, seed=1)
    stream = simulate(config)
    assert stream.equals(simulate(config))
    alone = simulate_quarter(config, 4)
    assert alone.equals(stream.filter(pl.col("shipment_id").str.starts_with("S04-")))
    assert not simulate(SimulatorConfig(quarters=1, shipments_per_quarter=200, seed=2)).equals(
        simulate(SimulatorConfig(quarters=1, shipments_per_quarter=200, seed=1))
    )


def test_regimes_new_region_replaced_carrier_service_mix_and_q4_peak(small_stream) -> None:
    frame = with_targets(small_stream)
    by_quarter = {q: frame.filter(pl.col("quarter") == q) for q in ("2024Q1", "2024Q2", "2024Q3", "2024Q4")}
    regions = {q: set(f["destination_region"]) for q, f in by_quarter.items()}
    carriers = {q: set(f["carrier"]) for q, f in by_quarter.items()}
    assert "Coast" not in regions["2024Q2"] and "Coast" in regions["2024Q3"]
    assert "Atlas" in carriers["2024Q3"] and "Atlas" not in carriers["2024Q4"] and "Nimbus" in carriers["2024Q4"]
    economy = {q: (f["service_level"] == "economy").mean() for q, f in by_quarter.items()}
    assert economy["2024Q2"] > economy["2024Q1"] + 0.1
    assert by_quarter["2024Q4"].height == 375 and by_quarter["2024Q1"].height == 300
    assert by_quarter["2024Q4"]["hours"].mean() > 1.15 * by_quarter["2024Q2"]["hours"].mean()
    snow = {q: (f["weather"] == "snow").mean() for q, f in by_quarter.items()}
    assert snow["2024Q1"] > 0.2 and snow["2024Q3"] == 0.0


def test_delivery_is_after_booking_and_late_follows_the_promise(small_stream) -> None:
    frame = with_targets(small_stream)
    assert (frame["hours"] > 0).all()
    assert ((frame["late"] == 1.0) == (frame["delivered_at"] > frame["promised_at"])).all()
    assert 0.05 < frame["late"].mean() < 0.6
