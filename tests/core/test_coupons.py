"""Coupons: unique per learner, unguessable, percent or fixed, expiring, single use."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from adapters.redis import RedisStore
from adapters.redis.coupons import CouponRejected
from bot.clock import ManualClock
from bot.config import Config
from bot.domain import Coupon
from campaigns.codes import ALPHABET
from campaigns.coupons import issue_coupon


async def issue(
    store: RedisStore, config: Config, clock: ManualClock, learner: str, key: str, pool: str = "hot-48h"
) -> Coupon:
    return await issue_coupon(
        store.coupons,
        pool,
        config.coupons[pool],
        "python101",
        config.courses["python101"],
        learner,
        key,
        clock.now(),
    )


async def test_each_learner_gets_an_own_unguessable_code(
    store: RedisStore, config: Config, clock: ManualClock
) -> None:
    codes = {(await issue(store, config, clock, f"tg-{i}", f"k{i}")).code for i in range(200)}
    assert len(codes) == 200
    assert all(re.fullmatch(f"PY-[{ALPHABET}]{{10}}", code) for code in codes)


async def test_issuing_again_for_the_same_key_returns_the_same_coupon(
    store: RedisStore, config: Config, clock: ManualClock
) -> None:
    first = await issue(store, config, clock, "tg-1", "campaign:step:c1:tg-1")
    clock.advance(timedelta(minutes=5))
    again = await issue(store, config, clock, "tg-1", "campaign:step:c1:tg-1")
    assert again == first
    assert (await store.coupons.counts("python101"))["issued"] == 1


async def test_percent_and_fixed_coupons_price_the_course(
    store: RedisStore, config: Config, clock: ManualClock
) -> None:
    percent = await issue(store, config, clock, "tg-1", "a")
    fixed = await issue(store, config, clock, "tg-2", "b", pool="warm-7d")
    assert (percent.label, percent.price_after(199.0)) == ("20% off", 159.2)
    assert (fixed.label, fixed.price_after(199.0)) == ("30 USD off", 169.0)
    assert fixed.expires_at - fixed.issued_at == timedelta(days=7)


async def test_a_coupon_is_redeemed_once(store: RedisStore, config: Config, clock: ManualClock) -> None:
    coupon = await issue(store, config, clock, "tg-1", "a")
    redeemed = await store.coupons.redeem(coupon.code, "order-1", clock.now())
    assert redeemed.status.value == "redeemed"
    assert (
        await store.coupons.redeem(coupon.code, "order-1", clock.now())
    ).code == coupon.code  # retried webhook
    with pytest.raises(CouponRejected, match="used"):
        await store.coupons.redeem(coupon.code, "order-2", clock.now())
    assert (await store.coupons.counts("python101"))["redeemed"] == 1


async def test_an_expired_or_unknown_coupon_is_refused(
    store: RedisStore, config: Config, clock: ManualClock
) -> None:
    coupon = await issue(store, config, clock, "tg-1", "a")
    clock.advance(timedelta(hours=48))
    with pytest.raises(CouponRejected, match="expired"):
        await store.coupons.redeem(coupon.code, "order-1", clock.now())
    with pytest.raises(CouponRejected, match="unknown"):
        await store.coupons.redeem("PY-NOPE", "order-1", clock.now())
