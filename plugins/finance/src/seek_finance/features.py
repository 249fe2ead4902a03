"""Offline fraud features with polars: per-card, per-terminal and per-device sliding windows, no row loop.

Time rule (no look-ahead, same-timestamp ties): a transaction at time ``t`` sees only events with a
timestamp strictly before ``t``. A window of length ``w`` holds the entity's events with
``t - w <= ts < t``. Transactions sharing a timestamp never see each other, whatever their ids: which
one happened first is unknowable from the data, so neither may inform the other. Rows are ordered by
``(timestamp, transaction_id)``, which fixes the output order and, among earlier events sharing a
timestamp, which one counts as "the previous transaction" (the one with the largest id).

Labels: the fraud label of a transaction at ``s`` is known from ``s + label_delay`` on (7 days by
default, as in the Handbook), so terminal risk at ``t`` uses transactions with ``ts < t - delay``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from seek_finance.app import FeatureConfig

if TYPE_CHECKING:
    import polars as pl

EARTH_RADIUS_KM = 6371.0088
#: The shortest time gap used to turn a distance into a speed (one minute, in hours).
MIN_GAP_HOURS = 1.0 / 60.0
NIGHT_HOURS = (22, 6)
#: Days since the terminal's last / first known fraud within the longest risk window.
LAST_FRAUD, FIRST_FRAUD = "term_days_since_last_known_fraud", "term_days_since_first_known_fraud"
SESSION_COUNTS = {
    "login_fail": ("login_fail",),
    "password_reset": ("password_reset",),
    "account_change": ("add_payee", "change_address"),
    "views": ("view_home", "view_item", "search"),
}


def window_name(window: timedelta) -> str:
    """The window as it appears in feature names: the largest whole unit ("15m", "6h", "7d", "90s")."""
    seconds = window.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def modalities(columns: list[str] | tuple[str, ...]) -> dict[str, bool]:
    """Which signal families a frame carries."""
    cols = set(columns)
    return {
        "transactions": True,
        "merchant_category": "merchant_category" in cols,
        "device": "device_id" in cols,
        "geo": {"ip_lat", "ip_lon"} <= cols,
        "behaviour": "session_events" in cols,
        "labels": "is_fraud" in cols,
    }


def feature_names(columns: list[str] | tuple[str, ...], cfg: FeatureConfig) -> list[str]:
    """Model input columns produced by :func:`compute_features` for a frame with ``columns``."""
    has = modalities(columns)
    names = ["amount", "hour", "is_weekend", "is_night"]
    if has["merchant_category"]:
        names.append("mcc")
    n = window_name
    for w in map(n, cfg.customer_windows):
        names += [f"cust_count_{w}", f"cust_sum_{w}", f"cust_mean_{w}", f"cust_max_{w}"]
    names += [f"cust_amount_ratio_{n(w)}" for w in cfg.ratio_windows]
    names += [f"cust_distinct_terminals_{n(w)}" for w in cfg.distinct_windows]
    names.append("cust_secs_since_prev")
    names += [f"term_count_{n(w)}" for w in cfg.terminal_windows]
    if has["labels"]:
        for w in map(n, cfg.risk_windows):
            names += [f"term_known_count_{w}", f"term_risk_{w}"]
        if cfg.risk_windows and cfg.fraud_ages:
            names += [LAST_FRAUD, FIRST_FRAUD]
    if has["device"]:
        names += [f"cust_distinct_devices_{n(w)}" for w in cfg.distinct_windows]
        names += ["device_new_for_customer", "device_n_customers"]
        names += [f"device_count_{n(w)}" for w in cfg.device_windows]
    if has["geo"]:
        names += ["geo_km_from_prev", "geo_speed_kmh", "geo_km_from_usual"]
    if has["behaviour"]:
        names += ["session_n_events", "session_seconds"] + [f"session_{k}" for k in SESSION_COUNTS]
    return names


def _haversine(lat1: pl.Expr, lon1: pl.Expr, lat2: pl.Expr, lon2: pl.Expr) -> pl.Expr:
    """Great-circle distance in km between two points given in degrees."""
    import polars as pl

    p1, p2 = lat1.radians(), lat2.radians()
    dlat, dlon = (lat2 - lat1).radians(), (lon2 - lon1).radians()
    a = (dlat / 2).sin().pow(2) + p1.cos() * p2.cos() * (dlon / 2).sin().pow(2)
    return 2 * EARTH_RADIUS_KM * a.sqrt().clip(upper_bound=1.0).arcsin() + pl.lit(0.0)


def _group_start(ordered_keys: list[str]) -> pl.Expr:
    """Index of the first row of each row's run of equal ``ordered_keys`` (frame sorted by them)."""
    import polars as pl

    change = pl.any_horizontal([pl.col(k) != pl.col(k).shift(1) for k in ordered_keys]).fill_null(True)
    return pl.when(change).then(pl.int_range(pl.len(), dtype=pl.Int64)).forward_fill()


def _previous(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Per customer, ``columns`` of the last transaction strictly earlier in time (``_prev_*``), by ``_row``."""
    import polars as pl

    ordered = frame.select("_row", "customer_id", "timestamp", *columns).sort("customer_id", "timestamp", "_row")
    prev = _group_start(["customer_id", "timestamp"]) - 1  # the row before this timestamp's first row
    same = pl.col("customer_id").gather(prev.clip(0)) == pl.col("customer_id")
    valid = (prev >= 0) & same
    out = ordered.select(
        "_row",
        *[pl.when(valid).then(pl.col(c).gather(prev.clip(0))).alias(f"_prev_{c}") for c in ["timestamp", *columns]],
    )
    return out.sort("_row")


def _device_customers(frame: pl.DataFrame) -> pl.DataFrame:
    """New-device flag and distinct customers seen earlier on the device, by ``_row``."""
    import polars as pl

    ordered = frame.select("_row", "device_id", "customer_id", "timestamp").sort("device_id", "timestamp", "_row")
    first = pl.struct("device_id", "customer_id").is_first_distinct().cast(pl.Int64)
    ordered = ordered.with_columns(first.alias("_first"))
    excl = pl.col("_first").cum_sum() - pl.col("_first")
    ordered = ordered.with_columns((excl - excl.gather(_group_start(["device_id"]))).alias("_excl"))
    out = ordered.select(
        "_row",
        pl.col("_excl").gather(_group_start(["device_id", "timestamp"])).alias("device_n_customers"),
        (pl.col("timestamp").min().over("device_id", "customer_id") >= pl.col("timestamp"))
        .cast(pl.Int64)
        .alias("device_new_for_customer"),
    )
    return out.sort("_row")


def _entity_windows(
    frame: pl.DataFrame,
    key: str,
    prefix: str,
    windows: list[timedelta],
    aggs: tuple[str, ...],
    distinct: dict[str, list[timedelta]] | None = None,
    more: dict[timedelta, list[pl.Expr]] | None = None,
) -> pl.DataFrame:
    """Left-closed sliding-window aggregates over earlier events of the same ``key``, keyed by ``_row``.

    ``aggs`` picks among count, sum (with mean) and max of the amount; ``distinct`` maps a column to the
    windows in which its distinct values are counted.
    """
    import polars as pl

    distinct, more = distinct or {}, more or {}
    cols = list(
        dict.fromkeys(
            [
                "_row",
                key,
                "timestamp",
                "amount",
                *distinct,
                *(c for exprs in more.values() for e in exprs for c in e.meta.root_names()),
            ]
        )
    )
    ordered = frame.select(cols).sort(key, "timestamp", "_row")
    out = [ordered.get_column("_row")]
    all_windows = list(dict.fromkeys([*windows, *(w for ws in distinct.values() for w in ws), *more]))
    for w in all_windows:
        name_w = window_name(w)
        exprs = []
        if w in windows:
            exprs.append(pl.len().cast(pl.Int64).alias(f"{prefix}_count_{name_w}"))
            if "sum" in aggs:
                exprs.append(pl.col("amount").sum().alias(f"{prefix}_sum_{name_w}"))
            if "max" in aggs:
                exprs.append(pl.col("amount").max().alias(f"{prefix}_max_{name_w}"))
        for column, dws in distinct.items():
            if w in dws:
                name = f"{prefix}_distinct_{column.removesuffix('_id')}s_{name_w}"
                exprs.append(pl.col(column).drop_nulls().n_unique().cast(pl.Int64).alias(name))
        exprs += more.get(w, [])
        rolled = ordered.rolling(index_column="timestamp", period=w, group_by=key, closed="left").agg(exprs)
        out += [rolled.get_column(e.meta.output_name()) for e in exprs]
    result = pl.DataFrame(out)
    extra = []
    for w in map(window_name, windows):
        if "sum" in aggs:
            count = pl.col(f"{prefix}_count_{w}")
            extra.append(pl.when(count > 0).then(pl.col(f"{prefix}_sum_{w}") / count).alias(f"{prefix}_mean_{w}"))
    return (result.with_columns(extra) if extra else result).sort("_row")


def _terminal_risk(frame: pl.DataFrame, cfg: FeatureConfig) -> pl.DataFrame:
    """Known-fraud counts and risk per terminal over windows ending ``label_delay`` before each row."""
    import polars as pl

    # Cumulative counts per terminal after the last transaction of each timestamp.
    cum = (
        frame.select("terminal_id", "timestamp", pl.col("is_fraud").fill_null(0).cast(pl.Int64).alias("f"))
        .group_by("terminal_id", "timestamp")
        .agg(pl.len().alias("n"), pl.col("f").sum())
        .sort("terminal_id", "timestamp")
        .with_columns(
            pl.col("n").cum_sum().over("terminal_id").alias("cn"), pl.col("f").cum_sum().over("terminal_id").alias("cf")
        )
        .select("terminal_id", pl.col("timestamp").alias("at"), "cn", "cf")
        .sort("at")
    )

    def before(query: pl.Expr, tag: str) -> pl.DataFrame:
        left = frame.select("_row", "terminal_id", query.alias("q")).set_sorted("q")  # frame is in time order
        joined = left.join_asof(
            cum,
            left_on="q",
            right_on="at",
            by="terminal_id",
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,  # both sides are sorted by time (checked by the no-look-ahead tests)
        )
        return joined.select(
            "_row", pl.col("cn").fill_null(0).alias(f"cn_{tag}"), pl.col("cf").fill_null(0).alias(f"cf_{tag}")
        )

    end = pl.col("timestamp") - cfg.label_delay
    out = before(end, "end")
    for w in cfg.risk_windows:
        out = out.hstack(before(end - w, window_name(w)).drop("_row"))
    cols = []
    for w in map(window_name, cfg.risk_windows):
        n = pl.col("cn_end") - pl.col(f"cn_{w}")
        f = pl.col("cf_end") - pl.col(f"cf_{w}")
        cols += [n.alias(f"term_known_count_{w}"), pl.when(n > 0).then(f / n).otherwise(0.0).alias(f"term_risk_{w}")]
    out = out.select("_row", *cols)
    if cfg.risk_windows and cfg.fraud_ages:
        out = out.hstack(_known_fraud_ages(frame, end, max(cfg.risk_windows)).drop("_row"))
    return out.sort("_row")


def _known_fraud_ages(frame: pl.DataFrame, end: pl.Expr, longest: timedelta) -> pl.DataFrame:
    """Days since the terminal's last and first known fraud in ``[end - longest, end)`` (null if none), by ``_row``.

    A run of frauds that is long known may be over (a compromise ends), a fresh one has just begun: the
    age of the first one tells them apart where a risk ratio cannot.
    """
    import polars as pl

    frauds = (
        frame.filter(pl.col("is_fraud").fill_null(0) == 1)
        .select("terminal_id", pl.col("timestamp").alias("at"))
        .sort("at")
    )
    q = frame.select("_row", "terminal_id", "timestamp", end.alias("q"), (end - longest).alias("q0"))
    # Both sides are in time order (check_sortedness off, as in _terminal_risk).
    last = q.set_sorted("q").join_asof(
        frauds,
        left_on="q",
        right_on="at",
        by="terminal_id",
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,
    )
    first = q.set_sorted("q0").join_asof(
        frauds,
        left_on="q0",
        right_on="at",
        by="terminal_id",
        strategy="forward",
        allow_exact_matches=True,
        check_sortedness=False,
    )
    days = (pl.col("timestamp") - pl.col("at")).dt.total_microseconds() / 86_400e6
    return pl.DataFrame(
        [
            q.get_column("_row"),
            last.select(pl.when(pl.col("at") >= pl.col("q0")).then(days)).to_series().alias(LAST_FRAUD),
            first.select(pl.when(pl.col("at") < pl.col("q")).then(days)).to_series().alias(FIRST_FRAUD),
        ]
    )


def compute_features(frame: pl.DataFrame, cfg: FeatureConfig | None = None) -> pl.DataFrame:
    """Return ``frame`` sorted by (timestamp, transaction_id) with every feature of :func:`feature_names`."""
    import polars as pl

    cfg = cfg or FeatureConfig()
    has = modalities(frame.columns)
    df = frame.sort("timestamp", "transaction_id").with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"), pl.lit(1, dtype=pl.Int64).alias("_one")
    )
    ts = pl.col("timestamp")
    hour = ts.dt.hour()
    exprs: list[pl.Expr] = [
        hour.cast(pl.Int64).alias("hour"),
        (ts.dt.weekday() >= 6).cast(pl.Int64).alias("is_weekend"),
        ((hour >= NIGHT_HOURS[0]) | (hour < NIGHT_HOURS[1])).cast(pl.Int64).alias("is_night"),
    ]
    if has["merchant_category"]:
        exprs.append(pl.col("merchant_category").cast(pl.String).cast(pl.Int64, strict=False).alias("mcc"))
    if has["behaviour"]:
        events = pl.col("session_events").fill_null("")
        n_events = events.str.count_matches("|", literal=True) + 1
        exprs.append(pl.when(events == "").then(0).otherwise(n_events).cast(pl.Int64).alias("session_n_events"))
        exprs.append(pl.col("session_seconds").cast(pl.Float64).alias("session_seconds"))
        for name, kinds in SESSION_COUNTS.items():
            # Event names are not substrings of one another, so literal counts are exact.
            count = pl.sum_horizontal([events.str.count_matches(k, literal=True) for k in kinds])
            exprs.append(count.cast(pl.Int64).alias(f"session_{name}"))
    df = df.with_columns(exprs)

    distinct = {"terminal_id": cfg.distinct_windows}
    more: dict[timedelta, list[pl.Expr]] = {}
    if has["device"]:
        distinct["device_id"] = cfg.distinct_windows
    if has["geo"]:
        more[cfg.usual_window] = [pl.col(c).mean().alias(f"_usual_{c}") for c in ("ip_lat", "ip_lon")]
    parts = [
        _previous(df, ["ip_lat", "ip_lon"] if has["geo"] else []),
        _entity_windows(df, "customer_id", "cust", cfg.customer_windows, ("count", "sum", "max"), distinct, more),
        _entity_windows(df, "terminal_id", "term", cfg.terminal_windows, ("count",)),
    ]
    if has["device"]:
        parts.append(_entity_windows(df, "device_id", "device", cfg.device_windows, ("count",)))
        parts.append(_device_customers(df))
    if has["labels"]:
        parts.append(_terminal_risk(df, cfg))
    for part in parts:  # every part holds one row per input row, sorted by _row
        df = df.hstack(part.drop("_row"))

    final: list[pl.Expr] = [
        ((ts - pl.col("_prev_timestamp")).dt.total_microseconds() / 1e6).alias("cust_secs_since_prev"),
    ]
    for w in map(window_name, cfg.ratio_windows):
        mean = pl.col(f"cust_mean_{w}")
        final.append(pl.when(mean > 0).then(pl.col("amount") / mean).alias(f"cust_amount_ratio_{w}"))
    if has["geo"]:
        km = _haversine(pl.col("_prev_ip_lat"), pl.col("_prev_ip_lon"), pl.col("ip_lat"), pl.col("ip_lon"))
        hours = (ts - pl.col("_prev_timestamp")).dt.total_microseconds() / 3.6e9
        final += [
            km.alias("geo_km_from_prev"),
            (km / pl.max_horizontal(hours, pl.lit(MIN_GAP_HOURS))).alias("geo_speed_kmh"),
            _haversine(pl.col("_usual_ip_lat"), pl.col("_usual_ip_lon"), pl.col("ip_lat"), pl.col("ip_lon")).alias(
                "geo_km_from_usual"
            ),
        ]
    df = df.with_columns(final)
    names = feature_names(frame.columns, cfg)
    keep = [c for c in frame.columns if c not in names] + names
    return df.select(keep)
