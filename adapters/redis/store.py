"""The Redis store as one object: the composition root opens it once and hands out its parts."""

from __future__ import annotations

from datetime import timedelta

from redis.exceptions import RedisError

from adapters.redis.activity import RedisActivity
from adapters.redis.campaign_state import RedisCampaignState
from adapters.redis.classes import RedisClasses
from adapters.redis.connection import RedisHandle, open_redis, redacted
from adapters.redis.coupons import RedisCoupons
from adapters.redis.history import RedisHistory
from adapters.redis.intake import RedisIntake
from adapters.redis.keys import Keys
from adapters.redis.learners import RedisLearners
from adapters.redis.offers import RedisOffers
from adapters.redis.orders import RedisOrders
from adapters.redis.outbox import RedisOutbox
from adapters.redis.relay import RedisRelay
from adapters.redis.scores import RedisScores
from bot.ports import StoreUnavailable


class RedisStore:
    def __init__(
        self, handle: RedisHandle, key_prefix: str = "cp", dedup_window: timedelta = timedelta(days=7)
    ):
        self.handle = handle
        self.client = handle.client
        self.keys = Keys(key_prefix)
        self.intake = RedisIntake(self.client, self.keys, dedup_window)
        self.learners = RedisLearners(self.client, self.keys)
        self.classes = RedisClasses(self.client, self.keys)
        self.activity = RedisActivity(self.client, self.keys)
        self.scores = RedisScores(self.client, self.keys)
        self.coupons = RedisCoupons(self.client, self.keys)
        self.outbox = RedisOutbox(self.client, self.keys)
        self.orders = RedisOrders(self.client, self.keys)
        self.campaign_state = RedisCampaignState(self.client, self.keys)
        self.offers = RedisOffers(self.client, self.keys)
        self.history = RedisHistory(self.client, self.keys, handle.url)
        self.relay = RedisRelay(self.client, self.keys)

    @classmethod
    def open(
        cls, url: str, key_prefix: str = "cp", dedup_window: timedelta = timedelta(days=7)
    ) -> RedisStore:
        return cls(open_redis(url), key_prefix, dedup_window)

    async def ping(self) -> None:
        try:
            await self.client.ping()
        except RedisError as exc:
            raise StoreUnavailable(f"cannot reach Redis at {redacted(self.handle.url)}: {exc}") from exc

    async def close(self) -> None:
        await self.handle.close()
