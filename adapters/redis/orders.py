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
