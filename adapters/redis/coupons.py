"""Coupons in Redis: issued once per idempotency key, redeemed atomically, listed per learner."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import redis.asyncio as aioredis

from adapters.redis.decoded import str_map, str_set
from adapters.redis.keys import Keys
from adapters.redis.scripts import lua
from bot.domain import Coupon, CouponKind, CouponStatus
from bot.domain.errors import DomainError
from bot.ports import CodeTaken


class CouponRejected(DomainError):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"coupon {code} cannot be redeemed: {reason}")
        self.code = code
        self.reason = reason


def _ms(value: datetime) -> str:
    return str(int(value.timestamp() * 1000))


def _from_ms(value: str) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, UTC)


def _coupon(fields: dict[str, str]) -> Coupon:
    return Coupon(
        code=fields["code"],
        pool=fields["pool"],
        course_id=fields["course_id"],
        learner_id=fields["learner_id"],
        kind=CouponKind(fields["kind"]),
        value=float(fields["value"]),
        currency=fields["currency"],
        issued_at=_from_ms(fields["issued_ms"]),
        expires_at=_from_ms(fields["expires_ms"]),
        status=CouponStatus(fields["status"]),
    )


class RedisCoupons:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._client = client
        self._keys = keys
        self._issue = client.register_script(lua("coupon_issue"))
        self._redeem = client.register_script(lua("coupon_redeem"))

    async def issue(self, coupon: Coupon, idempotency_key: str) -> Coupon:
        """Store `coupon` unless this key already has one; either way return the key's coupon."""
        fields = {
            "code": coupon.code,
            "pool": coupon.pool,
            "course_id": coupon.course_id,
            "learner_id": coupon.learner_id,
            "kind": coupon.kind.value,
            "value": repr(coupon.value),
            "currency": coupon.currency,
            "issued_ms": _ms(coupon.issued_at),
            "expires_ms": _ms(coupon.expires_at),
            "status": CouponStatus.ISSUED.value,
        }
        flat = [item for pair in fields.items() for item in pair]
        created, code = await self._issue(
            keys=[self._keys.coupons()],
            args=[idempotency_key, coupon.code, coupon.learner_id, coupon.course_id, *flat],
        )
        if int(created) < 0:
            raise CodeTaken(coupon.code)
        stored = await self.get(str(code))
        assert stored is not None
        return stored

    async def get(self, code: str) -> Coupon | None:
        fields = str_map(await self._client.hgetall(self._keys.coupon(code)))
        return _coupon(fields) if fields else None

    async def redeem(self, code: str, order_id: str, at: datetime) -> Coupon:
        verdict = await self._redeem(keys=[self._keys.coupons()], args=[code, order_id, _ms(at)])
        if verdict != "ok":
            raise CouponRejected(code, str(verdict))
        coupon = await self.get(code)
        assert coupon is not None
        return coupon

    async def for_learner(self, learner_id: str) -> list[Coupon]:
        codes = sorted(str_set(await self._client.smembers(f"{self._keys.coupons()}learner:{learner_id}")))
        async with self._client.pipeline(transaction=False) as pipe:
            for code in codes:
                pipe.hgetall(self._keys.coupon(code))
            rows = await pipe.execute()
        return sorted((_coupon(r) for r in rows if r), key=lambda c: c.issued_at)

    async def reassign(self, from_learner: str, to_learner: str) -> int:
        """Move every coupon of one learner to another (their accounts were linked)."""
        source = f"{self._keys.coupons()}learner:{from_learner}"
        codes = sorted(str_set(await self._client.smembers(source)))
        async with self._client.pipeline(transaction=True) as pipe:
            for code in codes:
                pipe.hset(self._keys.coupon(code), "learner_id", to_learner)
                pipe.sadd(f"{self._keys.coupons()}learner:{to_learner}", code)
            pipe.delete(source)
            await pipe.execute()
        return len(codes)

    async def counts(self, course_id: str) -> Mapping[str, int]:
        raw = str_map(await self._client.hgetall(f"{self._keys.coupons()}stats:{course_id}"))
        return {k: int(v) for k, v in raw.items()}
