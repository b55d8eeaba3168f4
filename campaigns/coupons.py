"""Issuing personal coupons from the pools in the config."""

from __future__ import annotations

from datetime import datetime

from bot.config import Config, CouponPoolConfig, CourseConfig
from bot.domain import Coupon, CouponKind
from bot.ports import CodeTaken, Coupons
from campaigns.codes import new_code

_MAX_DRAWS = 5


async def issue_coupon(
    coupons: Coupons,
    pool_id: str,
    pool: CouponPoolConfig,
    course_id: str,
    course: CourseConfig,
    learner_id: str,
    idempotency_key: str,
    now: datetime,
) -> Coupon:
    """The learner's coupon for this key: issued now, or the one an earlier run of the same step issued."""
    for _ in range(_MAX_DRAWS):
        candidate = Coupon(
            code=new_code(pool.prefix),
            pool=pool_id,
            course_id=course_id,
            learner_id=learner_id,
            kind=CouponKind(pool.kind),
            value=pool.value,
            currency=pool.currency or course.currency,
            issued_at=now,
            expires_at=now + pool.valid_for,
        )
        try:
            return await coupons.issue(candidate, idempotency_key)
        except CodeTaken:
            continue
    raise RuntimeError(f"could not draw an unused coupon code in {_MAX_DRAWS} tries (pool {pool_id})")


class PoolIssuer:
    """Issues coupons from the pools in the config: the `CouponIssuer` the use cases are given."""

    def __init__(self, config: Config, coupons: Coupons) -> None:
        self._config = config
        self._coupons = coupons

    async def issue(self, pool_id: str, course_id: str, learner_id: str, key: str, now: datetime) -> Coupon:
        return await issue_coupon(
            self._coupons,
            pool_id,
            self._config.coupons[pool_id],
            course_id,
            self._config.courses[course_id],
            learner_id,
            key,
            now,
        )
