"""Issuing personal coupons from the pools in the config, and the rules a redemption must meet."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bot.config import Config, CouponPoolConfig, CourseConfig
from bot.domain import Coupon, CouponKind
from bot.ports import CodeTaken, Coupons, RedemptionRules
from campaigns.codes import new_code

_MAX_DRAWS = 5


def expiry(pool: CouponPoolConfig, course: CourseConfig, issued_at: datetime) -> datetime:
    """`valid_for` after issue, or the end of `expires_on` in the course's time zone, whichever is first."""
    ends = issued_at + pool.valid_for
    if pool.expires_on is not None:
        last_day = datetime.combine(pool.expires_on, time.min, course.timezone) + timedelta(days=1)
        ends = min(ends, last_day)
    return ends


def rules(pool: CouponPoolConfig) -> RedemptionRules:
    return RedemptionRules(pool.min_order, pool.max_redemptions_per_code, pool.max_redemptions)


async def issue_coupon(
    coupons: Coupons,
    pool_id: str,
    pool: CouponPoolConfig,
    course_id: str,
    course: CourseConfig,
    learner_id: str,
    idempotency_key: str,
    now: datetime,
    *,
    source: str = "",
    one_live: bool = False,
) -> Coupon:
    """The learner's coupon for this key: issued now, or the one an earlier run of the same step issued.

    With `one_live`, raises HoldsLiveCoupon while the learner holds another live coupon for the course.
    """
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
            expires_at=expiry(pool, course, now),
        )
        try:
            return await coupons.issue(candidate, idempotency_key, source=source, one_live=one_live)
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
