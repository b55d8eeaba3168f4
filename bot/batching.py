"""Group commit: requests that arrive while the store is busy are written together in one round trip.

Each `submit` waits for its own result; `put` queues an item without waiting (its failure is logged).
At most `in_flight` flushes run at a time: at low load an item is written on the next turn of the event
loop (plus `window`), and under load everything that queued while the flushes were busy goes in the next
one, so batches grow with the load and the store sees a few large writes instead of many small. Several
flushes in flight keep the process busy while one waits for the store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class MicroBatcher(Generic[T, R]):
    def __init__(
        self,
        flush: Callable[[Sequence[T]], Awaitable[Sequence[R]]],
        window: float = 0.0,
        max_size: int = 1000,
        in_flight: int = 1,
        name: str = "batch",
    ) -> None:
        self._flush = flush
        self._window = window
        self._max_size = max_size
        self._in_flight = in_flight
        self._name = name
        self._pending: list[tuple[T, asyncio.Future[R] | None]] = []  # None: nobody waits for this one
        self._drainers: set[asyncio.Task[None]] = set()
        self._starting = False  # a drainer is sleeping through its window: no need for another

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._enqueue(item, future)
        return await future

    def put(self, item: T) -> None:
        """Queue an item and return at once; a failed write of it is logged, not raised."""
        self._enqueue(item, None)

    def _enqueue(self, item: T, future: asyncio.Future[R] | None) -> None:
        self._pending.append((item, future))
        if not self._starting and len(self._drainers) < self._in_flight:
            self._starting = True
            self._drainers.add(asyncio.create_task(self._drain()))

    async def _drain(self) -> None:
        try:
            # Let every request already waiting on the loop join this batch (and, with a window, a few more).
            await asyncio.sleep(self._window)
        finally:
            self._starting = False
        try:
            while self._pending:
                batch = self._pending[: self._max_size]
                del self._pending[: self._max_size]
                await self._run(batch)
        finally:
            # Leave the set in the same step as the last look at `_pending`: a submit that comes after must
            # see room for a new drainer (a done-callback would run a step late and strand its item).
            self._drainers.discard(asyncio.current_task())

    async def _run(self, batch: list[tuple[T, asyncio.Future[R] | None]]) -> None:
        try:
            results = await self._flush([item for item, _ in batch])
        except Exception as exc:
            # Every waiter of the batch gets the store's error and decides what to answer; nobody waits for
            # the items that were only put, so their loss is logged here.
            unwaited = sum(1 for _, future in batch if future is None)
            if unwaited:
                log.error("%s: %d queued writes lost: %s: %s", self._name, unwaited, type(exc).__name__, exc)
            for _, future in batch:
                if future is not None and not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future is not None and not future.done():  # its request may have been cancelled meanwhile
                future.set_result(result)

    async def flushed(self) -> None:
        """Wait until everything queued so far is written (or failed): on shutdown, and in tests."""
        while self._drainers:
            await asyncio.wait(set(self._drainers))
