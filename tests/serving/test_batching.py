"""Adaptive micro-batching: merged under load, immediate when alone, one bad request fails alone."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from seek.errors import DataError
from seek.serving.batching import BatchPolicy, MicroBatcher


class Recorder:
    def __init__(self, cost_s: float = 0.002) -> None:
        self.calls: list[int] = []
        self.cost_s = cost_s
        self.threads: set[str] = set()

    def __call__(self, records):
        self.calls.append(len(records))
        self.threads.add(threading.current_thread().name)
        time.sleep(self.cost_s)
        if any(r.get("bad") for r in records):
            raise DataError("record 0: field 'bad' is set")
        return "v1", [{"echo": r["i"]} for r in records]


def _run(coro):
    return asyncio.run(coro)


def test_concurrent_requests_are_merged_up_to_max_batch_and_answered_in_order():
    model = Recorder()

    async def go():
        batcher = MicroBatcher(model, BatchPolicy(max_batch=16, max_wait_ms=5))
        answers = await asyncio.gather(*(batcher.submit([{"i": i}]) for i in range(100)))
        batcher.close()
        return answers

    answers = _run(go())
    assert [a[1][0]["echo"] for a in answers] == list(range(100))
    assert max(model.calls) <= 16 and sum(model.calls) == 100
    assert len(model.calls) <= 100 / 4  # merged: far fewer calls than requests
    assert len(model.threads) == 1  # one model thread: predictors need not be thread-safe


def test_a_lone_request_does_not_wait_for_the_batch_window():
    model = Recorder(cost_s=0.0)

    async def go():
        batcher = MicroBatcher(model, BatchPolicy(max_batch=32, max_wait_ms=200))
        waits = []
        for i in range(5):
            started = time.perf_counter()
            await batcher.submit([{"i": i}])
            waits.append(time.perf_counter() - started)
            await asyncio.sleep(0.25)  # arrivals further apart than the window
        batcher.close()
        return waits

    waits = _run(go())
    assert max(waits[1:]) < 0.1  # well under the 200 ms window


def test_a_bad_request_fails_alone_and_the_others_in_its_batch_are_answered():
    model = Recorder()

    async def go():
        batcher = MicroBatcher(model, BatchPolicy(max_batch=64, max_wait_ms=20))
        records = [[{"i": i, "bad": i == 3}] for i in range(8)]
        out = await asyncio.gather(*(batcher.submit(r) for r in records), return_exceptions=True)
        batcher.close()
        return out

    out = _run(go())
    assert isinstance(out[3], DataError)
    assert [o[1][0]["echo"] for i, o in enumerate(out) if i != 3] == [0, 1, 2, 4, 5, 6, 7]


def test_batching_off_calls_the_model_once_per_request():
    model = Recorder()

    async def go():
        batcher = MicroBatcher(model, BatchPolicy(max_batch=1, max_wait_ms=0))
        await asyncio.gather(*(batcher.submit([{"i": i}]) for i in range(10)))
        batcher.close()

    _run(go())
    assert model.calls == [1] * 10


@pytest.mark.parametrize("answers", [0, 2])
def test_a_predictor_returning_the_wrong_number_of_answers_is_an_error(answers):
    def broken(records):
        return "v1", [{}] * answers

    async def go():
        batcher = MicroBatcher(broken, BatchPolicy(max_batch=8, max_wait_ms=1))
        try:
            await batcher.submit([{"i": 1}])
        finally:
            batcher.close()

    with pytest.raises(RuntimeError, match="answers for 1 records"):
        _run(go())
