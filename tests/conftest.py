"""Shared fixtures: a private redis-server per test session, a clean database and store per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
import redis

from adapters.redis import RedisStore
from adapters.redis.local_server import LocalRedisServer
from bot.clock import ManualClock


@pytest.fixture(scope="session")
def redis_server() -> Iterator[LocalRedisServer]:
    """A real redis-server on a free port, started by the tests and stopped after them."""
    with LocalRedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: LocalRedisServer) -> str:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[RedisStore]:
    s = RedisStore.open(redis_url)
    yield s
    await s.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
