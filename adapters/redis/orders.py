"""Orders (purchases) per course, recorded once per order id."""

from __future__ import annotations

import json
from datetime import datetime

import redis.asyncio as aioredis

from adapters.redis.decoded import str_map
from adapters.redis.keys import Keys
from bot.domain import Purchase


class RedisOrders:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._client = client
        self._keys = keys

    async def add(self, purchase: Purchase) -> bool:
        record = json.dumps(
            {
                "learner": purchase.learner_id,
                "amount": purchase.amount,
                "currency": purchase.currency,
                "at": purchase.at.isoformat(),
                "coupon": purchase.coupon_code,
            },
            separators=(",", ":"),
        )
        return bool(
            await self._client.hsetnx(self._keys.orders(purchase.course_id), purchase.order_id, record)
        )

    async def for_course(self, course_id: str) -> list[Purchase]:
        raw = str_map(await self._client.hgetall(self._keys.orders(course_id)))
        orders = []
        for order_id, record in raw.items():
            data = json.loads(record)
            orders.append(
                Purchase(
                    order_id,
                    course_id,
                    data["learner"],
                    float(data["amount"]),
                    data["currency"],
                    datetime.fromisoformat(data["at"]),
                    data["coupon"],
                )
            )
        return sorted(orders, key=lambda p: (p.at, p.order_id))

    async def exists(self, course_id: str, order_id: str) -> bool:
        return bool(await self._client.hexists(self._keys.orders(course_id), order_id))

    async def attribute(self, course_id: str, order_id: str, source: str) -> None:
        """Which campaign step and variant ("campaign|step|variant") brought the order; set once."""
        await self._client.hsetnx(f"{self._keys.orders(course_id)}:attributed", order_id, source)

    async def attributions(self, course_id: str) -> dict[str, str]:
        return str_map(await self._client.hgetall(f"{self._keys.orders(course_id)}:attributed"))

    async def attribution(self, course_id: str, order_id: str) -> str:
        raw = await self._client.hget(f"{self._keys.orders(course_id)}:attributed", order_id)
        return str(raw or "")
