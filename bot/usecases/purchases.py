"""A purchase: redeem the coupon, make the learner a buyer of the course, keep it in the history, and
attribute it to the campaign step and variant that brought it.

Attribution is last touch: the step whose coupon the order used, else the last promotional campaign message
delivered to the learner for the course within the attribution window before the purchase, else none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from bot.config import Config
from bot.domain import Coupon, DomainError, Interaction, InteractionKind, Platform, Purchase
from bot.ports import Activity, Coupons, Intake, Orders, RedemptionRules, Touch


class CouponSources(Protocol):
    async def source(self, code: str) -> str: ...


class TouchLog(Protocol):
    async def last_touch(self, course_id: str, learner_id: str) -> Touch | None: ...


class Attributions(Protocol):
    async def attribute(self, course_id: str, order_id: str, source: str) -> None: ...


@dataclass
class Purchases:
    coupons: Coupons
    activity: Activity
    intake: Intake
    orders: Orders
    config: Config | None = None
    touches: TouchLog | None = None
    sources: CouponSources | None = None
    attributions: Attributions | None = None

    def _rules(self, pool: str) -> RedemptionRules:
        pools = self.config.coupons if self.config is not None else {}
        if pool not in pools:
            return RedemptionRules()
        p = pools[pool]
        return RedemptionRules(p.min_order, p.max_redemptions_per_code, p.max_redemptions)

    async def record(self, purchase: Purchase, order_total: float | None = None) -> Coupon | None:
        """Idempotent on order_id: a repeated notification changes nothing (every step below is).

        `order_total` is the order's value before the discount, checked against the pool's minimum order.
        """
        coupon = None
        if purchase.coupon_code:
            found = await self.coupons.get(purchase.coupon_code)
            if (
                found is None
                or found.learner_id != purchase.learner_id
                or found.course_id != purchase.course_id
            ):
                raise DomainError(f"coupon {purchase.coupon_code} does not belong to this learner and course")
            coupon = await self.coupons.redeem(
                purchase.coupon_code,
                purchase.order_id,
                purchase.at,
                order_total=order_total,
                rules=self._rules(found.pool),
            )
        await self.orders.add(purchase)
        await self.activity.mark_buyer(purchase.course_id, purchase.learner_id)
        await self.intake.ingest(
            [
                Interaction(
                    InteractionKind.PURCHASE,
                    Platform.WEB,
                    f"order:{purchase.order_id}",
                    purchase.course_id,
                    purchase.learner_id,
                    purchase.at,
                    payload={
                        "order_id": purchase.order_id,
                        "amount": purchase.amount,
                        "currency": purchase.currency,
                        "coupon": purchase.coupon_code,
                    },
                )
            ]
        )
        source = await self.attribution(purchase)
        if self.attributions is not None and source:
            await self.attributions.attribute(purchase.course_id, purchase.order_id, source)
        return coupon

    async def attribution(self, purchase: Purchase) -> str:
        """ "campaign|step|variant" of the step that brought the purchase, or ""."""
        if purchase.coupon_code and self.sources is not None:
            source = await self.sources.source(purchase.coupon_code)
            if source:
                return source
        if self.touches is None:
            return ""
        window = self.config.campaign_engine.attribution_window if self.config else timedelta(days=7)
        touch = await self.touches.last_touch(purchase.course_id, purchase.learner_id)
        if touch is None or not purchase.at - window <= touch.at <= purchase.at:
            return ""
        return f"{touch.campaign_id}|{touch.step_id}|{touch.variant}"
