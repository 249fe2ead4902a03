"""Adaptive micro-batching: concurrent requests to one model are merged into one ``predict`` call.

As in Triton's dynamic batcher and BentoML's adaptive batching, a batch closes when it holds
``max_batch`` records or its oldest request has waited ``max_wait_ms``. The wait is adaptive: when
requests arrive further apart than ``max_wait_ms`` (low load) a lone request is dispatched at once, so
batching only costs latency when there is traffic to batch. Batches run one at a time on the model's
own thread (predictors need not be thread-safe). Two batches may be in flight, one running and the
next handed over, so the model thread never waits for the event loop between batches; the queue
keeps filling while both are busy, which is what makes batches grow with load.

A batch whose ``predict`` raises :class:`~seek.errors.DataError` is re-run request by request, so one
malformed request fails alone and the others in its batch still get their answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from seek.errors import DataError

Records = list[Mapping[str, Any]]
Runner = Callable[[Records], tuple[Any, list[dict[str, Any]]]]


@dataclass(frozen=True)
class BatchPolicy:
    """How one app batches: at most ``max_batch`` records per call, waiting at most ``max_wait_ms``."""

    max_batch: int = 32
    max_wait_ms: float = 2.0

    @property
    def enabled(self) -> bool:
        """Batching is off when a batch may hold a single request's records only."""
        return self.max_batch > 1


@dataclass
class _Pending:
    records: Records
    future: asyncio.Future[tuple[Any, list[dict[str, Any]]]]


class MicroBatcher:
    """Queue requests for one model and run them in merged batches on a dedicated thread."""

    def __init__(self, run: Runner, policy: BatchPolicy, name: str = "model") -> None:
        self.run = run
        self.policy = policy
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"seek-{name}")
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task[None] | None = None
        self._slots: asyncio.Semaphore | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._gap_s = float("inf")  # smoothed time between arrivals
        self._last_arrival = 0.0
        self.batch_sizes: list[int] = []  # recent batch sizes (records), for the metrics and tests
        self.on_batch: Callable[[int], None] | None = None

    @property
    def depth(self) -> int:
        """Requests waiting for a batch."""
        return self._queue.qsize() if self._queue is not None else 0

    async def submit(self, records: Records) -> tuple[Any, list[dict[str, Any]]]:
        """Predict ``records``; returns (model version, one answer per record)."""
        loop = asyncio.get_running_loop()
        if not self.policy.enabled:
            return await loop.run_in_executor(self.executor, self._run_counted, records)
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._slots = asyncio.Semaphore(2)
            self._task = loop.create_task(self._loop())
        now = time.perf_counter()
        if self._last_arrival:
            self._gap_s = 0.8 * min(self._gap_s, 1.0) + 0.2 * (now - self._last_arrival)
        self._last_arrival = now
        pending = _Pending(records, loop.create_future())
        await self._queue.put(pending)
        return await pending.future

    def _run_counted(self, records: Records) -> tuple[Any, list[dict[str, Any]]]:
        self._note(len(records))
        return self.run(records)

    def _note(self, size: int) -> None:
        self.batch_sizes.append(size)
        if len(self.batch_sizes) > 10_000:
            del self.batch_sizes[:5_000]
        if self.on_batch is not None:
            self.on_batch(size)

    async def _loop(self) -> None:
        assert self._queue is not None and self._slots is not None
        queue, slots = self._queue, self._slots
        wait_s = self.policy.max_wait_ms / 1000.0
        while True:
            first = await queue.get()
            await slots.acquire()  # collect only once a slot is free, so a busy model means bigger batches
            batch, size = [first], len(first.records)
            deadline = time.perf_counter() + wait_s
            while size < self.policy.max_batch:
                if not queue.empty():
                    item = queue.get_nowait()
                elif self._gap_s < wait_s and (left := deadline - time.perf_counter()) > 0:
                    try:
                        item = await asyncio.wait_for(queue.get(), left)
                    except TimeoutError:
                        break
                else:
                    break
                batch.append(item)
                size += len(item.records)
            task = asyncio.get_running_loop().create_task(self._dispatch_then_release(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _dispatch_then_release(self, batch: list[_Pending]) -> None:
        assert self._slots is not None
        try:
            await self._dispatch(batch)
        finally:
            self._slots.release()

    async def _dispatch(self, batch: list[_Pending]) -> None:
        live = [p for p in batch if not p.future.done()]  # a timed-out request is not run
        if not live:
            return
        loop = asyncio.get_running_loop()
        merged = [record for p in live for record in p.records]
        try:
            version, answers = await loop.run_in_executor(self.executor, self._run_counted, merged)
        except DataError as exc:
            if len(live) == 1:
                _fail(live[0], exc)
            else:
                await self._one_by_one(live)
            return
        except Exception as exc:  # noqa: BLE001 - a predictor bug: each request of the batch gets a 500, the loop lives
            for p in live:
                _fail(p, exc)
            return
        if len(answers) != len(merged):
            error = RuntimeError(f"predictor returned {len(answers)} answers for {len(merged)} records")
            for p in live:
                _fail(p, error)
            return
        start = 0
        for p in live:
            end = start + len(p.records)
            if not p.future.done():
                p.future.set_result((version, answers[start:end]))
            start = end

    async def _one_by_one(self, live: list[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        for p in live:
            if p.future.done():
                continue
            try:
                result = await loop.run_in_executor(self.executor, self._run_counted, p.records)
            except Exception as exc:  # noqa: BLE001 - each request gets its own error (DataError 422, bug 500)
                _fail(p, exc)
            else:
                if not p.future.done():
                    p.future.set_result(result)

    def close(self) -> None:
        """Stop the batching task and the model thread."""
        if self._task is not None:
            self._task.cancel()
        self.executor.shutdown(wait=False, cancel_futures=True)


def _fail(pending: _Pending, exc: BaseException) -> None:
    if not pending.future.done():
        pending.future.set_exception(exc)
