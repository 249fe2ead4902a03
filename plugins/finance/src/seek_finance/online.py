"""Online feature state: per card, terminal and device, updated one transaction at a time.

It computes exactly the features of :mod:`seek_finance.features` (same windows, same time rule: only
events with a timestamp strictly before the transaction's, labels only once ``label_delay`` has passed)
without recomputing history, so that one payment is scored in well under a millisecond of feature work.
Transactions are expected in (timestamp, transaction_id) order, as a payment stream delivers them.

The per-entity records live in a :mod:`seek_finance.state_store`: in memory by default (live objects,
no copying), or in Redis so that several serving replicas share one state.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from itertools import accumulate, islice
from typing import Any

from seek.errors import DataError
from seek_finance.features import (
    EARTH_RADIUS_KM,
    FIRST_FRAUD,
    LAST_FRAUD,
    MIN_GAP_HOURS,
    NIGHT_HOURS,
    SESSION_COUNTS,
    FeatureConfig,
    feature_names,
    window_name,
)
from seek_finance.state_store import Card, Device, MemoryStore, StateStore, Terminal

_US = 1_000_000
_US_PER_DAY = 86_400e6
_EPOCH = datetime(1970, 1, 1)


def to_micros(value: Any) -> int:
    """Microseconds since the epoch (naive UTC) from a datetime, an ISO string or a number of seconds."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        delta = value - _EPOCH
        return (delta.days * 86400 + delta.seconds) * _US + delta.microseconds
    if isinstance(value, str):
        return to_micros(datetime.fromisoformat(value.replace("Z", "+00:00")))
    return round(float(value) * _US)


def _micros(span: timedelta) -> int:
    return round(span.total_seconds() * _US)


def _haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dlat, dlon = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    a = math.sin(dlat / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(math.sqrt(a), 1.0))


class OnlineState:
    """Per-entity state; ``features(tx)`` then ``observe(tx)`` for each arriving transaction.

    ``store`` holds the records: a new :class:`MemoryStore` by default, or e.g.
    ``RedisStore.from_url("redis://localhost:6379/0", namespace="run-xyz")`` shared by replicas.
    """

    def __init__(
        self,
        cfg: FeatureConfig | None = None,
        columns: list[str] | tuple[str, ...] = (),
        store: StateStore | None = None,
    ) -> None:
        self.cfg = cfg or FeatureConfig()
        self.store: StateStore = store if store is not None else MemoryStore()
        self.names = feature_names(list(columns), self.cfg)
        has = set(self.names)
        self.has_device = "device_new_for_customer" in has
        self.has_geo = "geo_km_from_prev" in has
        self.has_session = "session_n_events" in has
        self.has_labels = any(n.startswith("term_risk_") for n in has)
        self.has_mcc = "mcc" in has
        self.has_ages = LAST_FRAUD in has
        w = lambda ws: [(window_name(x), _micros(x)) for x in ws]  # noqa: E731
        self.cust_w, self.dist_w = w(self.cfg.customer_windows), w(self.cfg.distinct_windows)
        self.term_w, self.risk_w = w(self.cfg.terminal_windows), w(self.cfg.risk_windows)
        self.dev_w = w(self.cfg.device_windows)
        self.ratio_w = [window_name(x) for x in self.cfg.ratio_windows]
        self.delay = _micros(self.cfg.label_delay)
        self.usual = _micros(self.cfg.usual_window)
        self.cust_keep = max([v for _, v in self.cust_w + self.dist_w] + [self.usual])
        self.term_keep = max([v for _, v in self.term_w] + [v + self.delay for _, v in self.risk_w])
        self.dev_keep = max([v for _, v in self.dev_w], default=0)

    def move_to(self, store: StateStore) -> bool:
        """Use ``store`` from now on, copying this in-memory state into it unless it already holds one.

        Returns True if copied. Replicas replaying the same history at start-up thus write it once.
        """
        if not isinstance(self.store, MemoryStore):
            raise TypeError("only an in-memory state can be copied into another store")
        copied = store.seed(self.store)
        self.store = store
        return copied

    # -- reading ------------------------------------------------------------------------------------

    def features(self, tx: Mapping[str, Any]) -> dict[str, float | None]:
        """The feature values of ``tx`` from the state (the state is not changed)."""
        t = to_micros(tx["timestamp"])
        out: dict[str, float | None] = {"amount": float(tx["amount"])}
        when = _EPOCH + timedelta(microseconds=t)
        hour = when.hour
        out["hour"] = hour
        out["is_weekend"] = int(when.isoweekday() >= 6)
        out["is_night"] = int(hour >= NIGHT_HOURS[0] or hour < NIGHT_HOURS[1])
        if self.has_mcc:
            out["mcc"] = _as_int(tx.get("merchant_category"))
        device = tx.get("device_id") if self.has_device else None
        card, term, dev = self.store.read(tx["customer_id"], tx["terminal_id"], device, self.has_device)
        if card is not None and card.events and card.events[-1][0] > t:
            last = _EPOCH + timedelta(microseconds=card.events[-1][0])
            raise DataError(
                f"timestamp {when.isoformat()} is earlier than the card's last payment ({last.isoformat()}); "
                "payments of one card must arrive in time order (late payments are refused, not inserted)"
            )
        self._card_features(tx, t, out, card)
        self._terminal_features(t, out, term)
        if self.has_device:
            self._device_features(tx, t, out, dev)
        if self.has_session:
            events = tx.get("session_events") or ""
            out["session_n_events"] = events.count("|") + 1 if events else 0
            seconds = tx.get("session_seconds")
            out["session_seconds"] = None if seconds is None else float(seconds)
            for name, kinds in SESSION_COUNTS.items():
                out[f"session_{name}"] = sum(events.count(k) for k in kinds)
        return {name: out.get(name) for name in self.names}

    def _card_features(self, tx: Mapping[str, Any], t: int, out: dict[str, Any], card: Card | None) -> None:
        # Earlier events, newest first, with their age: each window is then a prefix of this list.
        recent = [e for e in reversed(card.events) if e[0] < t] if card else []
        ages = [t - e[0] for e in recent]
        amounts = [e[1] for e in recent]
        sums = [0.0, *accumulate(amounts)]
        maxima = [None, *accumulate(amounts, max)]
        amount = float(tx["amount"])
        for name, span in self.cust_w:
            n = bisect_right(ages, span)
            out[f"cust_count_{name}"] = n
            out[f"cust_sum_{name}"] = sums[n]
            out[f"cust_mean_{name}"] = sums[n] / n if n else None
            out[f"cust_max_{name}"] = maxima[n]
        for name in self.ratio_w:
            mean = out[f"cust_mean_{name}"]
            out[f"cust_amount_ratio_{name}"] = amount / mean if mean is not None and mean > 0 else None
        for name, span in self.dist_w:
            n = bisect_right(ages, span)
            out[f"cust_distinct_terminals_{name}"] = len({e[2] for e in recent[:n]})
            if self.has_device:
                out[f"cust_distinct_devices_{name}"] = len({e[3] for e in recent[:n] if e[3] is not None})
        prev = recent[0] if recent else (card.evicted if card and card.evicted and card.evicted[0] < t else None)
        out["cust_secs_since_prev"] = (t - prev[0]) / 1e6 if prev else None
        if self.has_geo:
            lat, lon = float(tx["ip_lat"]), float(tx["ip_lon"])
            if prev is not None:
                km = _haversine(prev[4], prev[5], lat, lon)
                out["geo_km_from_prev"] = km
                out["geo_speed_kmh"] = km / max((t - prev[0]) / 3.6e9, MIN_GAP_HOURS)
            else:
                out["geo_km_from_prev"] = out["geo_speed_kmh"] = None
            n = bisect_right(ages, self.usual)
            if n:
                lat0 = math.fsum(e[4] for e in recent[:n]) / n
                lon0 = math.fsum(e[5] for e in recent[:n]) / n
                out["geo_km_from_usual"] = _haversine(lat0, lon0, lat, lon)
            else:
                out["geo_km_from_usual"] = None

    def _terminal_features(self, t: int, out: dict[str, Any], term: Terminal | None) -> None:
        times = [e[0] for e in term.events] if term else []
        now = bisect_left(times, t)
        for name, span in self.term_w:
            out[f"term_count_{name}"] = now - bisect_left(times, t - span)
        if self.has_labels:
            end = t - self.delay
            stop = bisect_left(times, end)
            frauds = [0, *accumulate((e[1] or 0) for e in term.events)] if term else [0]
            for name, span in self.risk_w:
                first = bisect_left(times, end - span)
                n = stop - first
                out[f"term_known_count_{name}"] = n
                out[f"term_risk_{name}"] = (frauds[stop] - frauds[first]) / n if n else 0.0
            if self.has_ages:
                start = bisect_left(times, end - max(span for _, span in self.risk_w))
                known = [e[0] for e in islice(term.events, start, stop) if e[1] == 1] if term else []
                out[LAST_FRAUD] = (t - known[-1]) / _US_PER_DAY if known else None
                out[FIRST_FRAUD] = (t - known[0]) / _US_PER_DAY if known else None

    def _device_features(self, tx: Mapping[str, Any], t: int, out: dict[str, Any], dev: Device | None) -> None:
        first = dev.first_seen.get(tx["customer_id"]) if dev else None
        out["device_new_for_customer"] = int(first is None or first >= t)
        out["device_n_customers"] = sum(1 for ts in dev.first_seen.values() if ts < t) if dev else 0
        for name, span in self.dev_w:
            out[f"device_count_{name}"] = sum(1 for ts in dev.events if t - span <= ts < t) if dev else 0

    def previous_steps(self, customer: Any, t: int, k: int) -> list[tuple[int, Any]]:
        """The card's last ``k`` (timestamp, step vector) strictly before ``t``, oldest first."""
        return self.store.previous_steps(customer, t, k)

    # -- writing ------------------------------------------------------------------------------------

    def observe(self, tx: Mapping[str, Any], step: Any = None) -> None:
        """Add a transaction (with its label if known, and its sequence-model step vector if any)."""
        t = to_micros(tx["timestamp"])
        customer = tx["customer_id"]
        device = tx.get("device_id") if self.has_device else None
        lat = float(tx["ip_lat"]) if self.has_geo else 0.0
        lon = float(tx["ip_lon"]) if self.has_geo else 0.0
        event = (t, float(tx["amount"]), tx["terminal_id"], device, lat, lon)
        label, tx_id = _as_int(tx.get("is_fraud")), tx.get("transaction_id")
        card_from, term_from, dev_from = t - self.cust_keep, t - self.term_keep, t - self.dev_keep

        def apply(card: Card, term: Terminal, dev: Device | None) -> tuple[list, list]:
            card.events.append(event)
            while card.events and card.events[0][0] < card_from:
                card.evicted = card.events.popleft()
            if step is not None:
                card.steps.append((t, step))
            entry = [t, label, tx_id]
            term.events.append(entry)
            dropped = []
            while term.events and term.events[0][0] < term_from:
                dropped.append(term.events.popleft())
            if dev is not None:
                dev.first_seen.setdefault(customer, t)
                dev.events.append(t)
                while dev.events and dev.events[0] < dev_from:
                    dev.events.popleft()
            return ([entry] if tx_id is not None else []), dropped

        self.store.update(customer, tx["terminal_id"], device, self.has_device, apply)

    def set_label(self, transaction_id: Any, label: int) -> bool:
        """Record a label that arrived after the transaction; False if it already left the window."""
        return self.store.set_label(transaction_id, label)

    def process(self, tx: Mapping[str, Any]) -> dict[str, float | None]:
        """Features of ``tx``, then add it to the state."""
        values = self.features(tx)
        self.observe(tx)
        return values


def _as_int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
