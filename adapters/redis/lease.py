"""A lease in Redis: at most one holder at a time, lost automatically if the holder stops renewing it."""

from __future__ import annotations

from datetime import timedelta

import redis.asyncio as aioredis

from adapters.redis.scripts import lua


class RedisLease:
    def __init__(self, client: aioredis.Redis, key: str, owner: str, ttl: timedelta) -> None:
        self._client = client
        self._key = key
        self.owner = owner
        self._ttl_ms = str(int(ttl.total_seconds() * 1000))
        self._acquire = client.register_script(lua("lease"))
        self._release = client.register_script(lua("lease_release"))

    async def hold(self) -> bool:
        """Acquire the lease, or renew it if we hold it; True while we are the holder."""
        return bool(await self._acquire(keys=[self._key], args=[self.owner, self._ttl_ms]))

    async def release(self) -> None:
        await self._release(keys=[self._key], args=[self.owner])
