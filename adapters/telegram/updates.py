"""Updates are delivered at least once: an outer middleware lets each `update_id` through only once.

The mark is a Redis `SET NX` with a TTL (Telegram keeps an undelivered update for 24 hours), so every process
of a deployment shares it. If handling fails the mark is removed again, so that Telegram's redelivery of the
update is handled rather than lost.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis
from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

log = logging.getLogger(__name__)

DEFAULT_TTL = timedelta(hours=25)


class SeenUpdates:
    """The update ids a bot has taken on, for a while."""

    def __init__(self, client: aioredis.Redis, key_prefix: str = "cp", ttl: timedelta = DEFAULT_TTL) -> None:
        self._client = client
        self._prefix = key_prefix
        self._ttl = max(int(ttl.total_seconds()), 1)

    def _key(self, bot_id: int, update_id: int) -> str:
        return f"{self._prefix}:tg:update:{bot_id}:{update_id}"

    async def first_sight(self, bot_id: int, update_id: int) -> bool:
        """True the first time an update is seen (and marks it); False for a redelivery."""
        return bool(await self._client.set(self._key(bot_id, update_id), "1", nx=True, ex=self._ttl))

    async def forget(self, bot_id: int, update_id: int) -> None:
        await self._client.delete(self._key(bot_id, update_id))


class DedupUpdates(BaseMiddleware):
    """Register with `dispatcher.update.outer_middleware(DedupUpdates(seen))`."""

    def __init__(self, seen: SeenUpdates) -> None:
        self._seen = seen

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        bot_id = data["bot"].id
        if not await self._seen.first_sight(bot_id, event.update_id):
            log.debug("update %s delivered again; skipped", event.update_id)
            return None
        try:
            return await handler(event, data)
        except BaseException:
            await self._seen.forget(bot_id, event.update_id)
            raise
