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
from bot.ports import NO_LIMITS, CodeTaken, HoldsLiveCoupon, RedemptionRules


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
        self._revoke = client.register_script(lua("coupon_revoke"))

    async def issue(
        self, coupon: Coupon, idempotency_key: str, *, source: str = "", one_live: bool = False
    ) -> Coupon:
        """Store `coupon` unless this key already has one; either way return the key's coupon.

        With `one_live`, refuse (HoldsLiveCoupon) while the learner holds another unexpired, unused coupon
        for the same course: checked and issued in one script, so two concurrent steps cannot both issue.
        `source` ("campaign|step|variant") lets reports count issued and redeemed codes per step and variant.
        """
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
            args=[
                idempotency_key,
                coupon.code,
                coupon.learner_id,
                coupon.course_id,
                coupon.pool,
                source,
                _ms(coupon.issued_at),
                "1" if one_live else "0",
                _ms(coupon.expires_at),
                *flat,
            ],
        )
        if int(created) == -2:
            raise HoldsLiveCoupon(str(code))
        if int(created) < 0:
            raise CodeTaken(coupon.code)
        stored = await self.get(str(code))
        assert stored is not None
        return stored

    async def get(self, code: str) -> Coupon | None:
        fields = str_map(await self._client.hgetall(self._keys.coupon(code)))
        return _coupon(fields) if fields else None

    async def redeem(
        self,
        code: str,
        order_id: str,
        at: datetime,
        *,
        order_total: float | None = None,
        rules: RedemptionRules = NO_LIMITS,
    ) -> Coupon:
        verdict = await self._redeem(
            keys=[self._keys.coupons()],
            args=[
                code,
                order_id,
                _ms(at),
                "" if order_total is None else repr(order_total),
                repr(rules.min_order),
                str(rules.per_code),
                str(rules.per_pool),
            ],
        )
        if verdict != "ok":
            raise CouponRejected(code, str(verdict))
        coupon = await self.get(code)
        assert coupon is not None
        return coupon

    async def for_learner(self, learner_id: str) -> list[Coupon]:
        codes = sorted(str_set(await self._client.smembers(f"{self._keys.coupons()}learner:{learner_id}")))
        return sorted(await self._many(codes), key=lambda c: c.issued_at)

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

    async def source(self, code: str) -> str:
        """The campaign step and variant ("campaign|step|variant") that issued a code, or ""."""
        return str(await self._client.hget(self._keys.coupon(code), "source") or "")

    async def source_counts(self) -> dict[tuple[str, str, str, str], int]:
        """Issued and redeemed codes per (campaign, step, variant, "issued" | "redeemed")."""
        raw = str_map(await self._client.hgetall(f"{self._keys.coupons()}source-stats"))
        out: dict[tuple[str, str, str, str], int] = {}
        for field, count in raw.items():
            campaign, step, variant, what = field.split("|")
            out[(campaign, step, variant, what)] = int(count)
        return out

    async def expiring(self, course_id: str, start: datetime, end: datetime) -> list[tuple[str, str]]:
        """(code, learner) of the course's coupons that expire in [start, end), whatever their status."""
        members = await self._client.zrangebyscore(
            f"{self._keys.coupons()}expiry:{course_id}", int(_ms(start)), f"({_ms(end)}"
        )
        return [(code, learner) for code, _, learner in (str(m).partition("|") for m in members)]

    async def get_many(self, codes: list[str]) -> list[Coupon]:
        return await self._many(codes)

    async def codes(self, pool: str, learner_id: str = "") -> list[str]:
        members = str_set(await self._client.smembers(f"{self._keys.coupons()}pool:{pool}"))
        if learner_id:
            members &= str_set(await self._client.smembers(f"{self._keys.coupons()}learner:{learner_id}"))
        return sorted(members)

    async def revoke(self, codes: list[str]) -> int:
        """Revoke the codes that are still issued; returns how many were. Safe to run again."""
        revoked = 0
        for start in range(0, len(codes), 500):
            revoked += int(await self._revoke(keys=[self._keys.coupons()], args=codes[start : start + 500]))
        return revoked

    async def _many(self, codes: list[str]) -> list[Coupon]:
        async with self._client.pipeline(transaction=False) as pipe:
            for code in codes:
                pipe.hgetall(self._keys.coupon(code))
            rows = await pipe.execute()
        return [_coupon(r) for r in rows if r]
