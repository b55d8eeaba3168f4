"""What the campaign engine needs from the store beyond the core ports (the Redis adapter provides it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol


class CampaignState(Protocol):
    async def swap_segments(self, course_id: str, segments: Mapping[str, str]) -> dict[str, str]: ...

    async def totals(
        self, course_id: str, learner_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, str]]: ...

    async def moments_between(
        self, course_id: str, field: str, start: datetime, end: datetime
    ) -> dict[str, int]: ...

    async def sweep_mark(self, campaign_id: str, step_id: str) -> datetime | None: ...

    async def set_sweep_mark(self, campaign_id: str, step_id: str, at: datetime) -> None: ...

    async def class_counters(
        self, course_id: str, class_id: str, learner_ids: Sequence[str]
    ) -> dict[str, dict[str, str]]: ...

    async def assign(
        self, campaign_id: str, step_id: str, variants: Mapping[str, str], at: datetime
    ) -> None: ...


class ExpiringCoupons(Protocol):
    async def expiring(self, course_id: str, start: datetime, end: datetime) -> list[tuple[str, str]]: ...
