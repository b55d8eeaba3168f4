"""Flash offers per course."""

from __future__ import annotations

import json
from datetime import datetime

import redis.asyncio as aioredis

from adapters.redis.decoded import opt_str, str_list
from adapters.redis.keys import Keys
from bot.domain.offers import FlashOffer


def _encode(offer: FlashOffer) -> str:
    return json.dumps(
        {
            "class": offer.class_id,
            "pool": offer.pool,
            "starts": offer.starts_at.isoformat(),
            "ends": offer.ends_at.isoformat(),
        },
        separators=(",", ":"),
    )


def _decode(course_id: str, offer_id: str, raw: str) -> FlashOffer:
    data = json.loads(raw)
    return FlashOffer(
        offer_id,
        course_id,
        data["class"],
        data["pool"],
        datetime.fromisoformat(data["starts"]),
        datetime.fromisoformat(data["ends"]),
    )


class RedisOffers:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._client = client
        self._keys = keys

    async def new_id(self, course_id: str) -> str:
        return f"o{await self._client.incr(self._keys.offer_seq(course_id))}"

    async def save(self, offer: FlashOffer) -> None:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.offers(offer.course_id), offer.id, _encode(offer))
            pipe.zadd(self._keys.offer_ends(offer.course_id), {offer.id: offer.ends_at.timestamp()})
            await pipe.execute()

    async def get(self, course_id: str, offer_id: str) -> FlashOffer | None:
        raw = opt_str(await self._client.hget(self._keys.offers(course_id), offer_id))
        return _decode(course_id, offer_id, raw) if raw else None

    async def running(self, course_id: str, now: datetime) -> FlashOffer | None:
        """The offer of the course that ends last among those still running at `now`, if any."""
        ids = str_list(
            await self._client.zrangebyscore(self._keys.offer_ends(course_id), now.timestamp(), "+inf")
        )
        for offer_id in reversed(ids):
            offer = await self.get(course_id, offer_id)
            if offer is not None and offer.running(now):
                return offer
        return None
