"""A course bought by a learner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Purchase:
    order_id: str
    course_id: str
    learner_id: str
    amount: float
    currency: str
    at: datetime
    coupon_code: str = ""
