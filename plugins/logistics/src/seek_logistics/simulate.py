"""A shipments simulator with quarterly regimes, so that a model updated each quarter can really forget.

What it models (one row per shipment, in the shipments schema of :mod:`seek_logistics.data`):

- delivery time = service base time + line haul (distance / carrier speed) + hub handling (hub base
  time x seasonal congestion) + weather delay (by season; snow hits long routes, one carrier copes
  better with it) + parcel weight/volume + last mile of the destination region, with 12% lognormal noise;
- **seasons**: Q1 winter (snow, moderate congestion), Q2 spring (rain), Q3 summer (clear), Q4 autumn
  peak (25% more shipments, storms, hubs 1.9x slower for standard/economy parcels);
- **regime changes**: from Q2 the service mix moves towards economy; from Q3 a new region, ``Coast``,
  opens (long last mile through hub H6); from Q4 carrier ``Atlas`` is replaced by ``Nimbus`` (slower,
  worse in storms). Later quarters repeat the seasons of a new year with those changes kept;
- promised time per service level (express 24 h, standard 48 h, economy 96 h); late = delivered after it.

What it does not model: traffic within a day, capacity limits and queues, lost or returned parcels,
multi-leg routing, holidays, customers. Quarter ``q`` (0-based) is drawn from its own seed
``(seed, q)``, so quarter 5 alone equals quarter 5 of a longer stream (what ``seek update`` feeds).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

REGIONS = ("North", "South", "East", "West", "Central")
NEW_REGION = "Coast"
CARRIERS = ("Swift", "Atlas", "Borealis")
REPLACEMENT = ("Atlas", "Nimbus")
SERVICES = ("express", "standard", "economy")
WEATHER = ("clear", "rain", "snow", "storm")
HUBS = ("H1", "H2", "H3", "H4", "H5", "H6")
PROMISED_HOURS = {"express": 24.0, "standard": 48.0, "economy": 96.0}
#: When the regime changes happen (0-based quarter index).
MIX_CHANGE_QUARTER, REGION_QUARTER, CARRIER_QUARTER = 1, 2, 3

_BASE = {"express": 6.0, "standard": 14.0, "economy": 30.0}
_SPEED = {"Swift": 75.0, "Atlas": 55.0, "Borealis": 62.0, "Nimbus": 42.0}
_HUB_BASE = {"H1": 2.0, "H2": 3.5, "H3": 5.0, "H4": 3.0, "H5": 6.5, "H6": 8.0}
_LAST_MILE = {"North": 4.0, "South": 3.0, "East": 2.0, "West": 5.0, "Central": 1.5, "Coast": 14.0}
_REGION_HUBS = {
    "North": ("H1", "H2"),
    "South": ("H3", "H4"),
    "East": ("H2", "H4"),
    "West": ("H5", "H1"),
    "Central": ("H3", "H5"),
    "Coast": ("H6", "H6"),
}
# season (quarter of the year) -> weather shares, hub congestion, and delay hours per weather
_WEATHER_SHARES = {
    0: (0.45, 0.15, 0.35, 0.05),
    1: (0.50, 0.42, 0.03, 0.05),
    2: (0.82, 0.13, 0.00, 0.05),
    3: (0.40, 0.25, 0.05, 0.30),
}
_CONGESTION = {0: 1.2, 1: 1.0, 2: 0.9, 3: 1.9}
_WEATHER_DELAY = {"clear": 0.0, "rain": 3.0, "snow": 12.0, "storm": 10.0}


@dataclass(frozen=True)
class SimulatorConfig:
    """Size and seed of a simulated stream."""

    quarters: int = 4
    shipments_per_quarter: int = 4000
    seed: int = 0
    start_year: int = 2024


def quarter_start(config: SimulatorConfig, q: int) -> dt.datetime:
    """First instant of 0-based quarter ``q``."""
    year, index = config.start_year + q // 4, q % 4
    return dt.datetime(year, 3 * index + 1, 1)


def quarter_name(config: SimulatorConfig, q: int) -> str:
    """``2024Q1`` for quarter 0 of a stream starting in 2024."""
    return f"{config.start_year + q // 4}Q{q % 4 + 1}"


def simulate_quarter(config: SimulatorConfig, q: int) -> pl.DataFrame:
    """The shipments created in 0-based quarter ``q`` (its own seed: the same rows in any stream)."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng([config.seed, q])
    season = q % 4
    n = int(config.shipments_per_quarter * (1.25 if season == 3 else 1.0))
    start = quarter_start(config, q)
    end = quarter_start(config, q + 1)
    seconds = rng.uniform(0, (end - start).total_seconds(), n)
    created = np.datetime64(start, "us") + (seconds * 1e6).astype("timedelta64[us]")

    regions = list(REGIONS) + ([NEW_REGION] if q >= REGION_QUARTER else [])
    dest_p = np.full(len(regions), 1.0)
    if q >= REGION_QUARTER:
        dest_p[-1] = 1.5  # the new region grows fast
    destination = rng.choice(regions, n, p=dest_p / dest_p.sum())
    origin = rng.choice(REGIONS, n)
    service_p = (0.25, 0.55, 0.20) if q < MIX_CHANGE_QUARTER else (0.15, 0.40, 0.45)
    service = rng.choice(SERVICES, n, p=service_p)
    carriers = [REPLACEMENT[1] if c == REPLACEMENT[0] and q >= CARRIER_QUARTER else c for c in CARRIERS]
    carrier = rng.choice(carriers, n, p=(0.4, 0.35, 0.25))
    hub = np.array([_REGION_HUBS[d][int(b)] for d, b in zip(destination, rng.integers(0, 2, n), strict=True)])
    weather = rng.choice(WEATHER, n, p=_WEATHER_SHARES[season])
    distance = np.where(origin == destination, rng.uniform(10, 120, n), rng.uniform(150, 1400, n))
    weight = rng.lognormal(1.6, 0.9, n).clip(0.1, 400)
    volume = (weight / 180 * rng.lognormal(0, 0.4, n)).clip(0.001, 5)

    mode = np.where(service == "economy", 0.7, np.where(service == "express", 1.6, 1.0))  # road / air
    speed = np.array([_SPEED[c] for c in carrier]) * mode
    haul = distance / speed
    slow_parcels = np.isin(service, ("standard", "economy"))
    congestion = np.where(slow_parcels, _CONGESTION[season], 1.0 + (_CONGESTION[season] - 1.0) * 0.3)
    handling = np.array([_HUB_BASE[h] for h in hub]) * congestion
    delay = np.array([_WEATHER_DELAY[w] for w in weather]) * (0.5 + distance / 800)
    delay = np.where((weather == "snow") & (carrier == "Borealis"), delay * 0.35, delay)
    delay = np.where((weather == "storm") & (carrier == "Nimbus"), delay * 1.8, delay)
    parcel = 0.02 * np.maximum(weight - 20, 0) + 3.0 * volume
    last_mile = np.array([_LAST_MILE[d] for d in destination])
    base = np.array([_BASE[s] for s in service])
    hours = (base + haul + handling + delay + parcel + last_mile) * rng.lognormal(0, 0.12, n)
    promised = np.array([PROMISED_HOURS[s] for s in service])

    order = np.argsort(created)
    hours_us = (hours * 3.6e9).astype("timedelta64[us]")
    promised_us = (promised * 3.6e9).astype("timedelta64[us]")
    frame = pl.DataFrame(
        {
            "shipment_id": [f"S{q:02d}-{i:06d}" for i in range(n)],
            "created_at": created[order],
            "origin_region": origin[order],
            "destination_region": destination[order],
            "distance_km": distance[order].round(1),
            "weight_kg": weight[order].round(2),
            "volume_m3": volume[order].round(4),
            "service_level": service[order],
            "carrier": carrier[order],
            "hub": hub[order],
            "weather": weather[order],
            "promised_at": (created + promised_us)[order],
            "delivered_at": (created + hours_us)[order],
        }
    )
    return frame.with_columns(pl.col("created_at", "promised_at", "delivered_at").cast(pl.Datetime("us")))


def simulate(config: SimulatorConfig) -> pl.DataFrame:
    """Every quarter of the stream, one after the other."""
    import polars as pl

    return pl.concat([simulate_quarter(config, q) for q in range(config.quarters)])
