"""A purchase: redeem the coupon, make the learner a buyer of the course, keep it in the history."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import Coupon, DomainError, Interaction, InteractionKind, Platform, Purchase
from bot.ports import Activity, Coupons, Intake, Orders


@dataclass
class Purchases:
    coupons: Coupons
    activity: Activity
    intake: Intake
    orders: Orders

    async def record(self, purchase: Purchase) -> Coupon | None:
        """Idempotent on order_id: a repeated notification changes nothing (every step below is)."""
        coupon = None
        if purchase.coupon_code:
            found = await self.coupons.get(purchase.coupon_code)
            if (
                found is None
                or found.learner_id != purchase.learner_id
                or found.course_id != purchase.course_id
            ):
                raise DomainError(f"coupon {purchase.coupon_code} does not belong to this learner and course")
            coupon = await self.coupons.redeem(purchase.coupon_code, purchase.order_id, purchase.at)
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
        return coupon
