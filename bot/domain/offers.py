"""A flash offer: a coupon pool offered to a live class for a few minutes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FlashOffer:
    id: str
    course_id: str
    class_id: str
    pool: str
    starts_at: datetime
    ends_at: datetime

    def running(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def seconds_left(self, now: datetime) -> int:
        return max(int((self.ends_at - now).total_seconds()), 0)
