"""Fixtures of the stream relay's tests: a configured relay app on the real store, a class, personal links."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from adapters.redis import RedisStore
from adapters.redis.decoded import str_map
from bot.clock import ManualClock
from bot.config import Config, parse_config
from bot.domain import ClassSession, ClassState, LearnerActivity
from stream_relay.server import RELAY_SERVER, RelayServer, create_app

SECRET = b"test-secret-0123456789abcdefghijklmnopqrstuvwxyz"
COURSE = "py101"
AppClient = TestClient[web.Request, web.Application]


def relay_config(**relay: Any) -> Config:
    return parse_config(
        {
            "courses": {
                COURSE: {
                    "name": "Python 101",
                    "price": 99.0,
                    "currency": "USD",
                    "buy_url": "https://shop.example.com/py101",
                }
            },
            "coupons": {"flash20": {"kind": "percent", "value": 20, "valid_for": "2h"}},
            "relay": {"public_base_url": "https://live.example.com", "heartbeat_interval": "10s", **relay},
        }
    )


def live_class(clock: ManualClock, stream_url: str, class_id: str = "c1") -> ClassSession:
    return ClassSession(
        id=class_id,
        course_id=COURSE,
        title="Decorators <live>",
        state=ClassState.LIVE,
        started_at=clock.now() - timedelta(minutes=5),
        stream_url=stream_url,
    )


class Relay:
    """One relay app under test, with helpers to issue links and read back what was recorded."""

    def __init__(self, client: AppClient, store: RedisStore, clock: ManualClock) -> None:
        self.client = client
        self.store = store
        self.clock = clock

    @property
    def server(self) -> RelayServer:
        return self.client.app[RELAY_SERVER]

    async def link(self, session: ClassSession, learner_id: str = "tg-1") -> str:
        """The path of the learner's personal link, /j/<token>."""
        url = await self.server.links.issue(session, learner_id, self.clock.now())
        assert url.startswith("https://live.example.com/j/")
        return url.removeprefix("https://live.example.com")

    async def events(self) -> int:
        await self.server.flushed()  # counted heartbeats are written after their answer
        return int(await self.store.client.xlen(self.store.keys.events(COURSE)))

    async def counters(self, session: ClassSession, learner_id: str = "tg-1") -> dict[str, str]:
        await self.server.flushed()
        key = self.store.keys.learner_class(COURSE, session.id, learner_id)
        return str_map(await self.store.client.hgetall(key))

    async def activity(self, session: ClassSession) -> list[LearnerActivity]:
        await self.server.flushed()
        return await self.store.activity.for_class(session)


MakeRelay = Callable[..., Awaitable[Relay]]


@pytest.fixture
def make_relay(
    aiohttp_client: Callable[..., Awaitable[AppClient]], store: RedisStore, clock: ManualClock
) -> MakeRelay:
    async def make(**relay: Any) -> Relay:
        config = relay_config(**relay)
        # No class cache: a test changes a class and expects the very next request to see it.
        app = create_app(config, store, clock, SECRET, class_cache_ttl=0)
        return Relay(await aiohttp_client(app), store, clock)

    return make
