"""Transaction simulator modelled on the Fraud Detection Handbook's generator, plus devices and sessions.

Handbook part (Le Borgne et al., chapter 3.2): customers and terminals placed uniformly on a 100x100
grid; each customer has a mean amount U(5, 100) (std = mean / 2) and a mean number of transactions per
day U(0, 4); each day a customer makes Poisson(mean) transactions at times N(noon, 20000 s) kept inside
the day, at a terminal drawn uniformly among those within radius ``radius`` of the customer. Its three
fraud scenarios: (1) every amount above 220 is fraud; (2) every day ``compromised_terminals_per_day``
terminals are compromised and all their transactions of the next 28 days are fraud; (3) every day
``compromised_customers_per_day`` customers are compromised and one third of their transactions of the
next 14 days have their amount multiplied by 5 and are fraud.

Extension (the guide's other two modalities): every transaction carries a device id, an IP geolocation
and the behaviour session (login / navigation / payment events) that preceded it. Each customer owns
1 + Poisson(0.5) devices; a few households share a device; a legitimate customer sometimes pays from a
brand-new device, travels, mistypes a password or changes an address. Scenario (4), account takeover:
every day ``takeovers_per_day`` customers are taken over for 7 days and half of their transactions come
from a fraud ring: a device shared by several victims, an IP far away (impossible travel), a session
with failed logins, a password reset, an account change and hurried navigation. Amounts stay normal, so
only the device and behaviour signals reveal it. Scenarios 1-3 keep the customer's own device and a
normal session, so they are exactly as hard as in the Handbook.

Not modelled: seasonality, merchant categories driving amounts, fraudsters adapting to the model,
chargebacks arriving with variable delays (the label delay is one constant), card-present vs online
channels.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from seek_finance.app import SimulatorConfig

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

#: Behaviour event vocabulary, in code order.
EVENTS = (
    "login_ok",
    "login_fail",
    "password_reset",
    "view_home",
    "view_item",
    "search",
    "add_payee",
    "change_address",
    "otp_ok",
    "payment",
)
_E = {name: code for code, name in enumerate(EVENTS)}

#: Merchant category codes the simulator assigns to terminals (ISO 18245 codes).
MCC_CODES = (
    "5411", "5812", "5541", "5912", "5311", "5999", "4121", "5732", "5691", "7011",
    "4511", "5814", "5942", "5661", "7832", "5200", "4814", "5945", "5977", "6011",
)  # fmt: skip

# The grid's 100 units span about 440 km: lat 45-49, lon 2-8 (one unit ~ 4.4 km).
_LAT0, _LAT_SPAN, _LON0, _LON_SPAN = 45.0, 4.0, 2.0, 6.0


def _available_terminals(cust_xy: np.ndarray, term_xy: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """CSR lists (offsets, terminal indices) of the terminals within ``radius`` of each customer."""
    from scipy.spatial import cKDTree

    neighbours = cKDTree(term_xy).query_ball_point(cust_xy, r=radius)
    counts = np.fromiter((len(n) for n in neighbours), dtype=np.int64, count=len(neighbours))
    offsets = np.zeros(len(neighbours) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    flat = np.fromiter((t for n in neighbours for t in sorted(n)), dtype=np.int64, count=int(offsets[-1]))
    return offsets, flat


def _active(n_entities: int, n_days: int, per_day: float, duration: int, rng: np.random.Generator) -> np.ndarray:
    """Boolean (entity, day) matrix: True while an entity compromised on some day is still compromised.

    ``per_day`` may be fractional (small simulations): the whole part is drawn every day, the rest
    with that probability.
    """
    active = np.zeros((n_entities, n_days + 1), dtype=bool)
    if per_day <= 0 or n_entities == 0:
        return active[:, :n_days]
    whole, frac = int(per_day), per_day - int(per_day)
    for day in range(n_days):  # one draw per day, not per transaction
        count = whole + int(frac > 0 and rng.random() < frac)
        chosen = rng.choice(n_entities, size=min(count, n_entities), replace=False)
        active[chosen, day : min(day + duration, n_days)] = True
    return active[:, :n_days]


def _to_latlon(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _LAT0 + xy[:, 1] / 100.0 * _LAT_SPAN, _LON0 + xy[:, 0] / 100.0 * _LON_SPAN


def simulate(config: SimulatorConfig | None = None) -> pl.DataFrame:
    """Simulate transactions; same config and seed give the same frame, row for row."""
    import polars as pl

    cfg = config or SimulatorConfig()
    rng = np.random.default_rng(cfg.seed)
    n_c, n_t, n_d = cfg.n_customers, cfg.n_terminals, cfg.n_days

    # -- Handbook profiles and transactions -------------------------------------------------------
    cust_xy = rng.uniform(0, 100, size=(n_c, 2))
    mean_amount = rng.uniform(5, 100, size=n_c)
    std_amount = mean_amount / 2
    mean_per_day = rng.uniform(0, 4, size=n_c)
    term_xy = rng.uniform(0, 100, size=(n_t, 2))
    offsets, flat = _available_terminals(cust_xy, term_xy, cfg.radius)
    n_avail = np.diff(offsets)

    counts = rng.poisson(mean_per_day[:, None], size=(n_c, n_d))
    counts[n_avail == 0] = 0  # the Handbook's customers with no terminal in reach never pay
    cust = np.repeat(np.repeat(np.arange(n_c), n_d), counts.ravel())
    day = np.repeat(np.tile(np.arange(n_d), n_c), counts.ravel())
    secs = np.rint(rng.normal(86400 / 2, 20000, size=cust.size)).astype(np.int64)
    keep = (secs > 0) & (secs < 86400)
    cust, day, secs = cust[keep], day[keep], secs[keep]
    n = cust.size
    amount = rng.normal(mean_amount[cust], std_amount[cust])
    negative = amount < 0
    amount[negative] = rng.uniform(0, mean_amount[cust[negative]] * 2)
    amount = np.round(amount, 2)
    pick = np.minimum((rng.random(n) * n_avail[cust]).astype(np.int64), n_avail[cust] - 1)
    term = flat[offsets[cust] + pick]

    # -- fraud scenarios 1-3 (Handbook) -----------------------------------------------------------
    fraud = np.zeros(n, dtype=np.int8)
    scenario = np.zeros(n, dtype=np.int8)
    s1 = amount > 220
    fraud[s1], scenario[s1] = 1, 1
    # The Handbook's daily counts are for 10000 terminals and 5000 customers; smaller worlds scale them.
    t_scale, c_scale = n_t / 10000, n_c / 5000
    s2 = _active(n_t, n_d, cfg.compromised_terminals_per_day * t_scale, 28, rng)[term, day]
    fraud[s2], scenario[s2] = 1, 2
    s3 = _active(n_c, n_d, cfg.compromised_customers_per_day * c_scale, 14, rng)[cust, day] & (rng.random(n) < 1 / 3)
    amount[s3] = np.round(amount[s3] * 5, 2)
    fraud[s3], scenario[s3] = 1, 3

    # -- devices and geolocation ------------------------------------------------------------------
    lat_home, lon_home = _to_latlon(cust_xy)
    n_dev = 1 + rng.poisson(0.5, size=n_c)
    dev_off = np.zeros(n_c + 1, dtype=np.int64)
    np.cumsum(n_dev, out=dev_off[1:])
    dev_ids = np.arange(dev_off[-1], dtype=np.int64)
    # Households: 3% of customers also use a device of another customer nearby in id order.
    household = rng.random(n_c) < 0.03
    shared_dev = dev_ids[dev_off[(np.arange(n_c) + 1) % n_c]]
    device = dev_ids[dev_off[cust] + np.minimum((rng.random(n) * n_dev[cust]).astype(np.int64), n_dev[cust] - 1)]
    use_shared = household[cust] & (rng.random(n) < 0.3)
    device[use_shared] = shared_dev[cust[use_shared]]
    next_dev = dev_off[-1]
    new_phone = rng.random(n) < 0.003  # legitimate payment from a never-seen device
    device[new_phone] = next_dev + np.arange(int(new_phone.sum()))
    next_dev += int(new_phone.sum())
    lat = lat_home[cust] + rng.normal(0, 0.02, size=n)
    lon = lon_home[cust] + rng.normal(0, 0.03, size=n)
    travel = rng.random(n) < 0.01  # legitimate travel: anywhere on the grid
    lat[travel], lon[travel] = _to_latlon(rng.uniform(0, 100, size=(int(travel.sum()), 2)))

    # -- scenario 4: account takeover ---------------------------------------------------------------
    s4 = _active(n_c, n_d, cfg.takeovers_per_day * c_scale if (cfg.devices or cfg.sessions) else 0, 7, rng)[cust, day]
    s4 &= (rng.random(n) < 0.5) & (fraud == 0)
    n4 = int(s4.sum())
    if cfg.devices:
        ring = next_dev + rng.integers(0, max(2, n_c // 150), size=n4)  # devices shared by a fraud ring
        device[s4] = ring
        lat[s4] = rng.uniform(36, 60, size=n4)  # far from home: impossible travel
        lon[s4] = rng.uniform(-10, 30, size=n4)
    term[s4] = rng.integers(0, n_t, size=n4)  # online merchants anywhere
    fraud[s4], scenario[s4] = 1, 4

    # -- behaviour sessions: events before the payment ------------------------------------------------
    session_events, session_seconds = _sessions(rng, n, s4 if cfg.sessions else np.zeros(n, dtype=bool))

    start = datetime.combine(cfg.start_date, time())
    ts_sec = day.astype(np.int64) * 86400 + secs
    order = np.lexsort((term, cust, ts_sec))  # stable, seed-determined order; ids follow time
    mcc = np.asarray(MCC_CODES)[np.random.default_rng(cfg.seed + 1).integers(0, len(MCC_CODES), n_t)]
    ts = np.datetime64(start, "us") + (ts_sec[order] * 1_000_000).astype("timedelta64[us]")
    columns = {
        "transaction_id": np.arange(n, dtype=np.int64),
        "timestamp": ts,
        "customer_id": cust[order].astype(np.int64),
        "terminal_id": term[order].astype(np.int64),
        "amount": amount[order],
        "merchant_category": mcc[term[order]],
    }
    frame = pl.DataFrame(columns)
    if cfg.devices:
        frame = frame.with_columns(
            pl.Series("device_id", device[order]), pl.Series("ip_lat", lat[order]), pl.Series("ip_lon", lon[order])
        )
    if cfg.sessions:
        events = pl.from_arrow(session_events).gather(order).list.eval(pl.element().cast(pl.String)).list.join("|")
        frame = frame.with_columns(events.alias("session_events"), pl.Series("session_seconds", session_seconds[order]))
    return frame.with_columns(pl.Series("is_fraud", fraud[order]), pl.Series("fraud_scenario", scenario[order]))


def _sessions(rng: np.random.Generator, n: int, takeover: np.ndarray) -> tuple[pa.ListArray, np.ndarray]:
    """Event codes (as an Arrow list of dictionary) and session durations for ``n`` payments."""
    import pyarrow as pa

    login = np.where(takeover, 1, (rng.random(n) < 0.6).astype(np.int64))  # else: already logged in
    fails = np.where(takeover, rng.integers(1, 4, n), (rng.random(n) < 0.03).astype(np.int64))
    fails = fails * (login > 0)
    reset = np.where(takeover, rng.random(n) < 0.6, rng.random(n) < 0.004).astype(np.int64)
    change = np.where(takeover, rng.random(n) < 0.7, rng.random(n) < 0.01).astype(np.int64)
    views = np.where(takeover, rng.poisson(0.7, n), rng.poisson(4.0, n))
    otp = (rng.random(n) < 0.3).astype(np.int64)
    # Block order: failed logins, reset, login, views, account change, otp, payment.
    blocks = np.stack([fails, reset, login, views, change, otp, np.ones(n, dtype=np.int64)], axis=1)
    lengths = blocks.sum(axis=1)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    starts = offsets[:-1, None] + np.cumsum(blocks, axis=1) - blocks
    fixed = (_E["login_fail"], _E["password_reset"], _E["login_ok"], -1, -1, _E["otp_ok"], _E["payment"])
    codes = np.empty(total, dtype=np.int8)
    for b, code in enumerate(fixed):  # seven blocks, each filled for all rows at once
        slots = _run_positions(starts[:, b], blocks[:, b])
        if b == 3:
            code = rng.choice([_E["view_home"], _E["view_item"], _E["search"]], size=slots.size, p=[0.3, 0.5, 0.2])
        elif b == 4:
            code = np.where(rng.random(slots.size) < 0.5, _E["add_payee"], _E["change_address"])
        codes[slots] = code
    gap_scale = np.where(takeover, 2.0, 15.0)  # scripted takeovers hurry through the pages
    seconds = np.round(rng.gamma(np.maximum(lengths - 1, 1e-9), gap_scale) * (lengths > 1), 1)
    events = pa.ListArray.from_arrays(
        pa.array(offsets.astype(np.int32)), pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(EVENTS))
    )
    return events, seconds


def _run_positions(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of ``range(s, s + l)`` for every (s, l) pair, without a Python loop."""
    total = int(lengths.sum())
    run_starts = np.cumsum(lengths) - lengths
    return np.repeat(starts - run_starts, lengths) + np.arange(total)


def simulate_blocks(config: SimulatorConfig | None = None, days_per_block: int = 7) -> Iterator[pl.DataFrame]:
    """Simulate the same kind of world as :func:`simulate` block by block of days, for data larger than memory.

    One world: customers, terminals, devices, merchant categories and every compromise (scenario-2
    terminals, scenario-3 cards, scenario-4 takeovers, each an (entity, day) matrix) are drawn once, up
    front, so a compromise started in one block goes on in the next; each block then draws its days'
    payments from its own seeded stream. The distribution is :func:`simulate`'s (same formulas, the same
    profiles for the same seed) but not its rows. Blocks come in time order with transaction ids
    following time across blocks; the same config and block size give the same rows.
    """
    cfg = config or SimulatorConfig()
    if days_per_block < 1:
        raise ValueError("days_per_block must be at least 1")
    world = _World(cfg)
    next_id, next_dev = 0, world.first_new_device
    for b, d0 in enumerate(range(0, cfg.n_days, days_per_block)):
        rng = np.random.default_rng([cfg.seed, 1, b])
        frame, next_dev = world.block(rng, d0, min(d0 + days_per_block, cfg.n_days), next_id, next_dev)
        next_id += frame.height
        yield frame


def write_simulation(path: Path, config: SimulatorConfig | None = None, days_per_block: int = 7) -> int:
    """Write :func:`simulate_blocks` to one parquet file (atomically), one block in memory at a time; the row count."""
    from seek.data.frames import write_parquet_frames

    return write_parquet_frames(simulate_blocks(config, days_per_block), path)


class _World:
    """What :func:`simulate_blocks` draws once: profiles, terminals, devices and the compromise matrices."""

    def __init__(self, cfg: SimulatorConfig) -> None:
        rng = np.random.default_rng(cfg.seed)
        self.cfg = cfg
        n_c, n_t, n_d = cfg.n_customers, cfg.n_terminals, cfg.n_days
        # Same draws, same order as simulate(): the same seed gives the same customers and terminals.
        self.cust_xy = rng.uniform(0, 100, size=(n_c, 2))
        self.mean_amount = rng.uniform(5, 100, size=n_c)
        self.mean_per_day = rng.uniform(0, 4, size=n_c)
        term_xy = rng.uniform(0, 100, size=(n_t, 2))
        self.offsets, self.flat = _available_terminals(self.cust_xy, term_xy, cfg.radius)
        self.n_avail = np.diff(self.offsets)
        t_scale, c_scale = n_t / 10000, n_c / 5000
        self.s2 = _active(n_t, n_d, cfg.compromised_terminals_per_day * t_scale, 28, rng)
        self.s3 = _active(n_c, n_d, cfg.compromised_customers_per_day * c_scale, 14, rng)
        takeovers = cfg.takeovers_per_day * c_scale if (cfg.devices or cfg.sessions) else 0
        self.s4 = _active(n_c, n_d, takeovers, 7, rng)
        self.n_dev = 1 + rng.poisson(0.5, size=n_c)
        self.dev_off = np.zeros(n_c + 1, dtype=np.int64)
        np.cumsum(self.n_dev, out=self.dev_off[1:])
        self.household = rng.random(n_c) < 0.03
        self.shared_dev = self.dev_off[(np.arange(n_c) + 1) % n_c]
        self.ring_size = max(2, n_c // 150)  # devices of the fraud ring, ids right after the customers' own
        self.first_new_device = int(self.dev_off[-1]) + self.ring_size
        self.mcc = np.asarray(MCC_CODES)[np.random.default_rng(cfg.seed + 1).integers(0, len(MCC_CODES), n_t)]

    def block(
        self, rng: np.random.Generator, d0: int, d1: int, first_id: int, next_dev: int
    ) -> tuple[pl.DataFrame, int]:
        """The payments of days ``[d0, d1)`` (ids from ``first_id``) and the next unused device id."""
        import polars as pl

        cfg, n_c, n_t = self.cfg, self.cfg.n_customers, self.cfg.n_terminals
        n_days = d1 - d0
        counts = rng.poisson(self.mean_per_day[:, None], size=(n_c, n_days))
        counts[self.n_avail == 0] = 0
        cust = np.repeat(np.repeat(np.arange(n_c), n_days), counts.ravel())
        day = d0 + np.repeat(np.tile(np.arange(n_days), n_c), counts.ravel())
        del counts
        secs = np.rint(rng.normal(86400 / 2, 20000, size=cust.size)).astype(np.int64)
        keep = (secs > 0) & (secs < 86400)
        cust, day, secs = cust[keep], day[keep], secs[keep]
        n = cust.size
        mean = self.mean_amount[cust]
        amount = rng.normal(mean, mean / 2)
        negative = amount < 0
        amount[negative] = rng.uniform(0, mean[negative] * 2)
        amount = np.round(amount, 2)
        del mean
        avail = self.n_avail[cust]
        term = self.flat[self.offsets[cust] + np.minimum((rng.random(n) * avail).astype(np.int64), avail - 1)]
        del avail

        fraud = np.zeros(n, dtype=np.int8)
        scenario = np.zeros(n, dtype=np.int8)
        s1 = amount > 220
        fraud[s1], scenario[s1] = 1, 1
        s2 = self.s2[term, day]
        fraud[s2], scenario[s2] = 1, 2
        s3 = self.s3[cust, day] & (rng.random(n) < 1 / 3)
        amount[s3] = np.round(amount[s3] * 5, 2)
        fraud[s3], scenario[s3] = 1, 3
        s4 = self.s4[cust, day] & (rng.random(n) < 0.5) & (fraud == 0)
        n4 = int(s4.sum())
        term[s4] = rng.integers(0, n_t, size=n4)  # online merchants anywhere
        fraud[s4], scenario[s4] = 1, 4

        columns: dict[str, np.ndarray] = {}
        if cfg.devices:
            n_dev = self.n_dev[cust]
            device = self.dev_off[cust] + np.minimum((rng.random(n) * n_dev).astype(np.int64), n_dev - 1)
            use_shared = self.household[cust] & (rng.random(n) < 0.3)
            device[use_shared] = self.shared_dev[cust[use_shared]]
            new_phone = rng.random(n) < 0.003  # legitimate payment from a never-seen device
            device[new_phone] = next_dev + np.arange(int(new_phone.sum()))
            next_dev += int(new_phone.sum())
            lat_home, lon_home = _to_latlon(self.cust_xy[cust])
            lat = lat_home + rng.normal(0, 0.02, size=n)
            lon = lon_home + rng.normal(0, 0.03, size=n)
            travel = rng.random(n) < 0.01
            lat[travel], lon[travel] = _to_latlon(rng.uniform(0, 100, size=(int(travel.sum()), 2)))
            device[s4] = self.dev_off[-1] + rng.integers(0, self.ring_size, size=n4)
            lat[s4] = rng.uniform(36, 60, size=n4)
            lon[s4] = rng.uniform(-10, 30, size=n4)
            columns = {"device_id": device, "ip_lat": lat, "ip_lon": lon}

        ts_sec = day.astype(np.int64) * 86400 + secs
        order = np.lexsort((term, cust, ts_sec))
        start = np.datetime64(datetime.combine(cfg.start_date, time()), "us")
        frame = pl.DataFrame(
            {
                "transaction_id": first_id + np.arange(n, dtype=np.int64),
                "timestamp": start + (ts_sec[order] * 1_000_000).astype("timedelta64[us]"),
                "customer_id": cust[order].astype(np.int64),
                "terminal_id": term[order].astype(np.int64),
                "amount": amount[order],
                "merchant_category": self.mcc[term[order]],
            }
        )
        frame = frame.with_columns(pl.Series(name, values[order]) for name, values in columns.items())
        if cfg.sessions:
            events, seconds = _sessions(rng, n, s4)
            codes = pl.Series("session_events", events)  # an Arrow list array is one Series
            joined = codes.gather(order).list.eval(pl.element().cast(pl.String)).list.join("|")
            frame = frame.with_columns(joined.alias("session_events"), pl.Series("session_seconds", seconds[order]))
        frame = frame.with_columns(pl.Series("is_fraud", fraud[order]), pl.Series("fraud_scenario", scenario[order]))
        return frame, next_dev
