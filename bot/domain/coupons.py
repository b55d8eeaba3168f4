"""Personal coupons: one code, one learner, one use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class CouponKind(StrEnum):
    PERCENT = "percent"
    FIXED = "fixed"


class CouponStatus(StrEnum):
    ISSUED = "issued"
    REDEEMED = "redeemed"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Coupon:
    code: str
    pool: str
    course_id: str
    learner_id: str
    kind: CouponKind
    value: float
    currency: str
    issued_at: datetime
    expires_at: datetime
    status: CouponStatus = CouponStatus.ISSUED

    def status_at(self, now: datetime) -> CouponStatus:
        if self.status is CouponStatus.ISSUED and now >= self.expires_at:
            return CouponStatus.EXPIRED
        return self.status

    @property
    def label(self) -> str:
        if self.kind is CouponKind.PERCENT:
            return f"{self.value:g}% off"
        return f"{self.value:g} {self.currency} off"

    def price_after(self, price: float) -> float:
        if self.kind is CouponKind.PERCENT:
            return round(price * (1 - self.value / 100), 2)
        return round(max(price - self.value, 0.0), 2)
