"""Fraud feature computation: seek_finance (polars) vs the same features in pandas, side by side.

    python benchmarks/bench_finance_features.py                # Handbook size, ~1.75 M transactions
    python benchmarks/bench_finance_features.py --customers 500 --terminals 1000 --days 60   # quick

Each implementation runs in its own subprocess on the same parquet file, so peak memory (ru_maxrss)
is its own (VmHWM); both outputs are then compared value by value (relative tolerance 1e-9).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

WINDOWS = {
    "customer": ("15m", "1h", "6h", "1d", "7d", "30d"),
    "distinct": ("1d", "7d", "30d"),
    "terminal": ("1h", "1d", "7d", "30d"),
    "risk": ("1d", "7d", "30d"),
    "device": ("1d",),
    "ratio": ("1d", "7d", "30d"),
}
_PANDAS_FREQ = {"m": "min", "h": "h", "d": "D", "s": "s"}


def _pd_window(w: str) -> str:
    return w[:-1] + _PANDAS_FREQ[w[-1]]


def run_polars(data: Path, out: Path) -> dict:
    """seek_finance.features.compute_features on the file."""
    import polars as pl

    from seek_finance.features import FeatureConfig, compute_features, feature_names

    frame = pl.read_parquet(data)
    start = time.perf_counter()
    feats = compute_features(frame)
    seconds = time.perf_counter() - start
    names = feature_names(frame.columns, FeatureConfig())
    feats.select("transaction_id", *names).write_parquet(out)
    return {"seconds": seconds, "rows": frame.height, "features": len(names)}


def run_pandas(data: Path, out: Path) -> dict:
    """The same features written the way a pandas user would: groupby + time rolling, merge_asof."""
    import pandas as pd

    df = pd.read_parquet(data)
    start = time.perf_counter()
    df = df.sort_values(["timestamp", "transaction_id"], kind="stable").reset_index(drop=True)
    df["_row"] = np.arange(len(df))
    ts = df["timestamp"]
    feats = pd.DataFrame({"transaction_id": df["transaction_id"], "amount": df["amount"]})
    feats["hour"] = ts.dt.hour
    feats["is_weekend"] = (ts.dt.dayofweek >= 5).astype(int)
    feats["is_night"] = ((feats["hour"] >= 22) | (feats["hour"] < 6)).astype(int)
    feats["mcc"] = pd.to_numeric(df["merchant_category"], errors="coerce")

    by_card = df.sort_values(["customer_id", "timestamp", "_row"], kind="stable")
    rows = by_card["_row"].to_numpy()
    grouped = by_card.groupby("customer_id", sort=False)
    for w in WINDOWS["customer"]:
        roll = grouped.rolling(_pd_window(w), on="timestamp", closed="left")["amount"]
        count = roll.count().fillna(0).to_numpy()
        total = roll.sum().fillna(0).to_numpy()
        feats.loc[rows, f"cust_count_{w}"] = count
        feats.loc[rows, f"cust_sum_{w}"] = total
        feats.loc[rows, f"cust_mean_{w}"] = np.where(count > 0, total / np.where(count > 0, count, 1), np.nan)
        feats.loc[rows, f"cust_max_{w}"] = roll.max().to_numpy()
    for w in WINDOWS["ratio"]:
        mean = feats[f"cust_mean_{w}"]
        feats[f"cust_amount_ratio_{w}"] = np.where(mean > 0, feats["amount"] / mean, np.nan)
    for column, prefix in (("terminal_id", "cust_distinct_terminals"), ("device_id", "cust_distinct_devices")):
        for w in WINDOWS["distinct"]:
            roll = grouped.rolling(_pd_window(w), on="timestamp", closed="left")[column]
            n = roll.apply(lambda a: len(np.unique(a)), raw=True).fillna(0).to_numpy()
            feats.loc[rows, f"{prefix}_{w}"] = n
    # Previous payment strictly earlier in time: the row before the first row of the timestamp tie.
    pos = np.arange(len(by_card))
    tie_start = pos - by_card.groupby(["customer_id", "timestamp"], sort=False).cumcount().to_numpy()
    prev = tie_start - 1
    cust = by_card["customer_id"].to_numpy()
    valid = (prev >= 0) & (cust[np.maximum(prev, 0)] == cust)
    card_ts = by_card["timestamp"].to_numpy()
    prev_ts = np.where(valid, card_ts[np.maximum(prev, 0)], np.datetime64("NaT"))
    secs = (card_ts - prev_ts) / np.timedelta64(1, "s")
    feats.loc[rows, "cust_secs_since_prev"] = secs

    by_term = df.sort_values(["terminal_id", "timestamp", "_row"], kind="stable")
    for w in WINDOWS["terminal"]:
        roll = by_term.groupby("terminal_id", sort=False).rolling(_pd_window(w), on="timestamp", closed="left")[
            "amount"
        ]
        feats.loc[by_term["_row"].to_numpy(), f"term_count_{w}"] = roll.count().fillna(0).to_numpy()
    cum = by_term.groupby(["terminal_id", "timestamp"], sort=False).agg(n=("amount", "size"), f=("is_fraud", "sum"))
    cum = cum.reset_index().sort_values(["terminal_id", "timestamp"])
    cum["cn"] = cum.groupby("terminal_id")["n"].cumsum()
    cum["cf"] = cum.groupby("terminal_id")["f"].cumsum()
    cum = cum.rename(columns={"timestamp": "at"}).sort_values("at")[["terminal_id", "at", "cn", "cf"]]

    def before(query: pd.Series) -> pd.DataFrame:
        left = pd.DataFrame({"_row": df["_row"], "terminal_id": df["terminal_id"], "q": query}).sort_values("q")
        joined = pd.merge_asof(left, cum, left_on="q", right_on="at", by="terminal_id", allow_exact_matches=False)
        return joined.sort_values("_row")[["cn", "cf"]].fillna(0).to_numpy()

    end = before(ts - pd.Timedelta(days=7))
    for w in WINDOWS["risk"]:
        start_w = before(ts - pd.Timedelta(days=7) - pd.Timedelta(_pd_window(w)))
        n, f = end[:, 0] - start_w[:, 0], end[:, 1] - start_w[:, 1]
        feats[f"term_known_count_{w}"] = n
        feats[f"term_risk_{w}"] = np.where(n > 0, f / np.where(n > 0, n, 1), 0.0)

    by_dev = df.sort_values(["device_id", "timestamp", "_row"], kind="stable")
    dev_rows = by_dev["_row"].to_numpy()
    for w in WINDOWS["device"]:
        roll = by_dev.groupby("device_id", sort=False).rolling(_pd_window(w), on="timestamp", closed="left")["amount"]
        feats.loc[dev_rows, f"device_count_{w}"] = roll.count().fillna(0).to_numpy()
    first = (~by_dev.duplicated(["device_id", "customer_id"])).astype(np.int64)
    excl = first.groupby(by_dev["device_id"], sort=False).cumsum() - first
    tie_pos = np.arange(len(by_dev)) - by_dev.groupby(["device_id", "timestamp"], sort=False).cumcount().to_numpy()
    feats.loc[dev_rows, "device_n_customers"] = excl.to_numpy()[tie_pos]
    first_ts = df.groupby(["device_id", "customer_id"])["timestamp"].transform("min")
    feats["device_new_for_customer"] = (first_ts >= ts).astype(int)

    lat, lon = by_card["ip_lat"].to_numpy(), by_card["ip_lon"].to_numpy()
    plat = np.where(valid, lat[np.maximum(prev, 0)], np.nan)
    plon = np.where(valid, lon[np.maximum(prev, 0)], np.nan)
    km = _haversine(plat, plon, lat, lon)
    feats.loc[rows, "geo_km_from_prev"] = km
    feats.loc[rows, "geo_speed_kmh"] = km / np.maximum(secs / 3600, 1 / 60)
    usual = grouped.rolling("30D", on="timestamp", closed="left")[["ip_lat", "ip_lon"]].mean()
    feats.loc[rows, "geo_km_from_usual"] = _haversine(usual["ip_lat"].to_numpy(), usual["ip_lon"].to_numpy(), lat, lon)

    events = df["session_events"].fillna("")
    feats["session_n_events"] = np.where(events == "", 0, events.str.count("\\|") + 1)
    feats["session_seconds"] = df["session_seconds"]
    feats["session_login_fail"] = events.str.count("login_fail")
    feats["session_password_reset"] = events.str.count("password_reset")
    feats["session_account_change"] = events.str.count("add_payee") + events.str.count("change_address")
    feats["session_views"] = events.str.count("view_home") + events.str.count("view_item") + events.str.count("search")
    seconds = time.perf_counter() - start
    feats.to_parquet(out)
    return {"seconds": seconds, "rows": len(df), "features": feats.shape[1] - 1}


def _haversine(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin(np.radians(lat2 - lat1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.minimum(np.sqrt(a), 1.0))


def _peak_rss_mb() -> float:
    """This process's own peak resident memory: VmHWM (ru_maxrss would include the parent's peak at fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(kind: str, data: Path, out: Path) -> None:
    result = (run_polars if kind == "polars" else run_pandas)(data, out)
    result["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(result))


def compare(polars_out: Path, pandas_out: Path) -> tuple[int, int, list[str]]:
    """(columns compared, values compared, columns that differ)."""
    import polars as pl

    a = pl.read_parquet(polars_out)
    b = pl.read_parquet(pandas_out)
    differ = []
    values = 0
    for name in a.columns:
        x = a.get_column(name).cast(pl.Float64).to_numpy()
        y = b.get_column(name).cast(pl.Float64).to_numpy()
        values += x.size
        if not np.allclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True):
            differ.append(name)
    return a.width, values, differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--terminals", type=int, default=10000)
    parser.add_argument("--days", type=int, default=183)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    from seek_finance.simulate import SimulatorConfig, simulate

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "tx.parquet"
        frame = simulate(SimulatorConfig(n_customers=args.customers, n_terminals=args.terminals, n_days=args.days))
        frame.write_parquet(data)
        results = {}
        for kind in ("polars", "pandas"):
            out = Path(tmp) / f"{kind}.parquet"
            proc = subprocess.run(
                [sys.executable, __file__, "--child", kind, str(data), str(out)],
                check=True,
                capture_output=True,
                text=True,
            )
            results[kind] = json.loads(proc.stdout.strip().splitlines()[-1])
            print(kind, results[kind], flush=True)
        columns, values, differ = compare(Path(tmp) / "polars.parquet", Path(tmp) / "pandas.parquet")
    p, q = results["polars"], results["pandas"]
    print(f"\n{p['rows']:,} transactions, {p['features']} features\n")
    print("| implementation | time (s) | peak RSS (MB) |")
    print("|---|---|---|")
    print(f"| seek_finance (polars) | {p['seconds']:.1f} | {p['peak_rss_mb']:.0f} |")
    print(f"| pandas, same features | {q['seconds']:.1f} | {q['peak_rss_mb']:.0f} |")
    print(
        f"| ratio pandas / polars | {q['seconds'] / p['seconds']:.1f}x | {q['peak_rss_mb'] / p['peak_rss_mb']:.2f}x |"
    )
    print(
        f"\nequal values: {columns - len(differ)}/{columns} columns ({values:,} values); differing: {differ or 'none'}"
    )


if __name__ == "__main__":
    main()
