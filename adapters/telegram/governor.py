"""The rate governor: every send of one bot waits here until Telegram's flood limits allow it.

    async with governor.slot(chat_id, private=True):
        await bot.send_message(...)

Telegram counts messages when they *arrive*, and network delay varies, so each limit keeps some headroom
for jitter while wasting no throughput where it matters:

- per bot (N/s across chats): an aiolimiter leaky bucket that lets a twentieth of a second's worth through
  at once and then paces evenly at exactly N/s. (A full second's burst would fill Telegram's own bucket to
  the brim, and then the slightest jitter would turn into 429s.)
- per group (20/min): an aiolimiter bucket with half the minute's allowance as burst, then the full rate.
- per private chat (1/s): sends to one chat go one at a time, each at least 1/r after the previous one
  *finished*, so that two messages can never arrive closer than 1/r, however late the first one travelled.
- a 429 pauses every send of the bot for `retry_after` (`pause`); afterwards sends resume at the bot's pace,
  not all at once (a turn taken during the pause is void).
- `close` (at shutdown) ends every wait at once with `GovernorClosed`: a message still waiting was not
  sent, so it can stay in the outbox instead of holding the shutdown up.

Per-chat state lives in a bounded LRU. Its size is derived from the limits so that an entry is only ever
forgotten after its limit has lapsed: in one period (1 s for a private chat, 60 s for a group) the bot
reaches at most `per_bot_per_second * period` chats, and the LRU holds twice that.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

from aiolimiter import AsyncLimiter

from bot.config.telegram import TelegramLimits

_BOT_BURST_SECONDS = 0.05
_GROUP_BURST_SHARE = 0.5
_GROUP_PERIOD = 60.0

G = TypeVar("G")


class GovernorClosed(Exception):
    """The governor was closed while a send waited for its turn: the send did not happen."""


@dataclass(frozen=True, slots=True)
class GovernorStats:
    sends: int
    pauses: int
    paused_seconds: float
    chats_tracked: int


class _PrivateGate:
    __slots__ = ("free_at", "lock")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.free_at = 0.0  # loop time from which the next message may leave


class _GroupGate:
    __slots__ = ("bucket", "lock")

    def __init__(self, bucket: AsyncLimiter) -> None:
        self.lock = asyncio.Lock()
        self.bucket = bucket


class _Lru(Generic[G]):
    """Per-chat gates, least recently used first; at most `capacity` of them."""

    def __init__(self, make: Callable[[], G], capacity: int) -> None:
        self._make = make
        self.capacity = capacity
        self._gates: OrderedDict[int, G] = OrderedDict()

    def get(self, chat_id: int) -> G:
        gate = self._gates.get(chat_id)
        if gate is None:
            gate = self._gates[chat_id] = self._make()
            if len(self._gates) > self.capacity:
                self._gates.popitem(last=False)
        else:
            self._gates.move_to_end(chat_id)
        return gate

    def __len__(self) -> int:
        return len(self._gates)


class RateGovernor:
    """Admits the sends of one bot at Telegram's pace."""

    def __init__(self, limits: TelegramLimits | None = None, *, max_chats: int | None = None) -> None:
        self.limits = limits or TelegramLimits()
        rate = self.limits.per_bot_per_second
        burst = max(1.0, rate * _BOT_BURST_SECONDS)
        self._bot = AsyncLimiter(burst, burst / rate)
        self._private_interval = 1.0 / self.limits.per_private_chat_per_second
        per_minute = self.limits.per_group_per_minute
        group_burst = max(1.0, per_minute * _GROUP_BURST_SHARE)
        self._private: _Lru[_PrivateGate] = _Lru(
            _PrivateGate, max_chats or self._capacity(rate, max(1.0, self._private_interval))
        )
        self._groups: _Lru[_GroupGate] = _Lru(
            lambda: _GroupGate(AsyncLimiter(group_burst, group_burst * _GROUP_PERIOD / per_minute)),
            max_chats or self._capacity(rate, _GROUP_PERIOD),
        )
        self._paused_until = 0.0
        self._closed = asyncio.Event()
        self._sends = 0
        self._pauses = 0
        self._paused_seconds = 0.0

    @staticmethod
    def _capacity(per_second: float, period: float) -> int:
        return max(256, math.ceil(per_second * period * 2))

    @asynccontextmanager
    async def slot(self, chat_id: int, private: bool) -> AsyncIterator[None]:
        """Wait until a message may go to `chat_id`; send it inside the block."""
        loop = asyncio.get_running_loop()
        if self._closed.is_set():
            raise GovernorClosed
        if private:
            gate = self._private.get(chat_id)
            async with gate.lock:
                await self._wait_pause()
                if (wait := gate.free_at - loop.time()) > 0:
                    await self._sleep(wait)
                await self._admit()
                try:
                    yield
                finally:
                    gate.free_at = loop.time() + self._private_interval
        else:
            group = self._groups.get(chat_id)
            async with group.lock:
                await self._wait_pause()
                # The group's bucket first: a message waiting for its chat must not take a slot of the bot.
                await group.bucket.acquire()
                await self._admit()
                yield

    def close(self) -> None:
        """From now on no send is admitted; those waiting give up with GovernorClosed."""
        self._closed.set()

    def pause(self, seconds: float) -> None:
        """Stop every send of this bot for `seconds` (Telegram's retry_after); a pause is never shortened."""
        now = asyncio.get_running_loop().time()
        until = now + max(seconds, 0.0)
        if until > self._paused_until:
            self._paused_seconds += until - max(self._paused_until, now)
            self._paused_until = until
            self._pauses += 1

    @property
    def paused_for(self) -> float:
        """Seconds until sends may go again (0 when not paused)."""
        return max(self._paused_until - asyncio.get_running_loop().time(), 0.0)

    @property
    def stats(self) -> GovernorStats:
        return GovernorStats(
            self._sends, self._pauses, self._paused_seconds, len(self._private) + len(self._groups)
        )

    async def _admit(self) -> None:
        while True:
            await self._wait_pause()
            await self._bot.acquire()
            if self._closed.is_set():
                raise GovernorClosed
            if self.paused_for <= 0:
                break
            # A 429 paused the bot while this send waited for its turn: the turn is void. Taking it after
            # the pause would release every send that queued meanwhile at once; queue again instead.
        self._sends += 1

    async def _wait_pause(self) -> None:
        loop = asyncio.get_running_loop()
        # A loop, not one sleep: another 429 may extend the pause while this send waits.
        while (delay := self._paused_until - loop.time()) > 0:
            await self._sleep(delay)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), seconds)
        if self._closed.is_set():
            raise GovernorClosed
