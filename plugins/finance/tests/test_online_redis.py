"""Online state in a real Redis server: same features as in memory, shared by replicas, clear errors."""

from __future__ import annotations

import math
import threading
import uuid
from datetime import datetime, timedelta

import polars as pl
import pytest

from seek.errors import ConfigError
from seek.testing import free_port
from seek_finance.features import FeatureConfig, compute_features, feature_names
from seek_finance.online import OnlineState, to_micros
from seek_finance.redis_store import RedisStore
from seek_finance.state_store import REDIS_NAMESPACE_ENV, REDIS_URL_ENV, store_from_env

CFG = FeatureConfig()
BASIC = ["transaction_id", "timestamp", "customer_id", "terminal_id", "amount", "is_fraud"]


@pytest.fixture
def redis_url(seek_redis_url: str) -> str:
    """The session's throw-away redis-server (seek.testing's ``seek_redis_url``)."""
    return seek_redis_url


def _store(url: str, namespace: str) -> RedisStore:
    return RedisStore.from_url(url, namespace=namespace)


def _same(a: object, b: object) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None
    return b is not None and math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def _history_and_day(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    offline = compute_features(frame, CFG)
    day = datetime(2018, 5, 9)
    history = offline.filter(pl.col("timestamp") < day)
    replay = offline.filter((pl.col("timestamp") >= day) & (pl.col("timestamp") < day + timedelta(days=1)))
    return history, replay


def test_replaying_a_day_through_redis_gives_the_in_memory_and_offline_features(
    small_frame: pl.DataFrame, redis_url: str
) -> None:
    history, replay = _history_and_day(small_frame)
    names = feature_names(small_frame.columns, CFG)
    memory = OnlineState(CFG, small_frame.columns)
    shared = OnlineState(CFG, small_frame.columns)
    for tx in history.iter_rows(named=True):
        memory.observe(tx)
        shared.observe(tx)
    assert shared.move_to(_store(redis_url, uuid.uuid4().hex))  # history copied into Redis once
    assert replay.height > 150
    mismatches = []
    for tx in replay.iter_rows(named=True):
        in_redis, in_memory = shared.process(tx), memory.process(tx)
        assert in_redis == in_memory
        mismatches += [(tx["transaction_id"], n) for n in names if not _same(tx[n], in_redis[n])]
    assert mismatches == []


def test_two_replicas_on_one_namespace_score_as_one_state(small_frame: pl.DataFrame, redis_url: str) -> None:
    history, replay = _history_and_day(small_frame)
    namespace = uuid.uuid4().hex
    memory = OnlineState(CFG, small_frame.columns)
    first = OnlineState(CFG, small_frame.columns, store=_store(redis_url, namespace))
    second = OnlineState(CFG, small_frame.columns, store=_store(redis_url, namespace))
    rows = list(history.tail(300).iter_rows(named=True)) + list(replay.head(100).iter_rows(named=True))
    for i, tx in enumerate(rows):  # alternate replicas: each must see what the other wrote
        replica = first if i % 2 == 0 else second
        t = to_micros(tx["timestamp"])
        assert replica.features(tx) == memory.features(tx)
        assert replica.previous_steps(tx["customer_id"], t, 3) == memory.previous_steps(tx["customer_id"], t, 3)
        step = [tx["amount"], float(i), -1.5e-300]  # a sequence-model step vector, stored exactly
        replica.observe(tx, step)
        memory.observe(tx, step)
    assert memory.previous_steps(rows[-1]["customer_id"], 2**62, 3)  # the check above compared some steps


def test_a_label_set_through_one_replica_is_seen_by_the_other(redis_url: str) -> None:
    namespace = uuid.uuid4().hex
    first = OnlineState(CFG, BASIC, store=_store(redis_url, namespace))
    second = OnlineState(CFG, BASIC, store=_store(redis_url, namespace))
    t0 = datetime(2020, 1, 1, 12)
    first.observe({"transaction_id": "a", "timestamp": t0, "customer_id": 1, "terminal_id": 9, "amount": 5.0})
    assert second.set_label("a", 1)
    assert not second.set_label("never-seen", 1)
    probe = {"transaction_id": "b", "customer_id": 2, "terminal_id": 9, "amount": 5.0}
    assert first.features({**probe, "timestamp": t0 + timedelta(days=6)})["term_risk_7d"] == 0.0
    assert first.features({**probe, "timestamp": t0 + timedelta(days=7, seconds=1)})["term_risk_7d"] == 1.0


def test_replicas_writing_one_card_at_once_lose_no_payment(redis_url: str) -> None:
    namespace = uuid.uuid4().hex
    replicas = [OnlineState(CFG, BASIC, store=_store(redis_url, namespace)) for _ in range(2)]
    t0 = datetime(2020, 1, 1)

    def pay(k: int, state: OnlineState) -> None:
        for i in range(100):
            tx_id = f"{k}-{i}"
            state.process({"transaction_id": tx_id, "timestamp": t0, "customer_id": 1, "terminal_id": 9, "amount": 1.0})

    threads = [threading.Thread(target=pay, args=(k, s)) for k, s in enumerate(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    later = {"transaction_id": "z", "timestamp": t0 + timedelta(minutes=1), "customer_id": 1, "terminal_id": 9}
    values = replicas[0].features({**later, "amount": 1.0})
    assert values["cust_count_1d"] == 200
    assert values["term_count_1d"] == 200


def test_an_unreachable_redis_is_one_config_error_line() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(ConfigError, match="unreachable") as err:
        RedisStore.from_url(url, timeout_s=0.5)
    assert url in str(err.value)
    assert "\n" not in str(err.value)


def test_the_predictor_store_comes_from_the_environment(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REDIS_URL_ENV, raising=False)
    assert store_from_env("run-a") is None
    monkeypatch.setenv(REDIS_URL_ENV, redis_url)
    assert store_from_env("run-a").prefix == "seek:finance:run-a:"
    monkeypatch.setenv(REDIS_NAMESPACE_ENV, "blue")
    assert store_from_env("run-a").prefix == "seek:finance:blue:"
