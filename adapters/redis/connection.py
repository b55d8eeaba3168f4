"""Opening Redis clients from a URL, including the embedded `memory://` store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio as aioredis

from adapters.redis.packing import CONNECTION_CLASS
from bot.ports import StoreUnavailable

MEMORY_URL = "memory://"


def redacted(url: str) -> str:
    """The URL without its password, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass
class RedisHandle:
    """An async client for ClassPulse and, on demand, a sync one for APScheduler's job store."""

    url: str
    client: aioredis.Redis
    _server: Any = None  # the fakeredis server behind memory://, shared by every client of this handle

    def sync_client(self) -> redis.Redis:
        if self._server is not None:
            import fakeredis

            return fakeredis.FakeRedis(server=self._server)
        return redis.Redis.from_url(self.url)

    async def close(self) -> None:
        await self.client.aclose()


def open_redis(url: str) -> RedisHandle:
    if url.startswith(MEMORY_URL):
        import fakeredis

        server = fakeredis.FakeServer()
        client = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
        return RedisHandle(url, client, server)
    # For redis:// only: rediss:// and unix:// URLs choose their own connection class (TLS, socket file).
    options: dict[str, Any] = {"connection_class": CONNECTION_CLASS} if CONNECTION_CLASS else {}
    try:
        redis_client = aioredis.Redis.from_url(url, decode_responses=True, **options)
    except ValueError as exc:  # an unknown scheme, a port that is not a number: the user's URL, said plainly
        raise StoreUnavailable(f"{redacted(url)}: {exc} (or memory:// for the embedded store)") from None
    return RedisHandle(url, redis_client)
