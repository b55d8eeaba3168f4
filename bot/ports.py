"""The ports: what the core needs from the outside world, as small Protocols.

Adapters implement them (Redis, Telegram, Discord, the console); tests may use the real ones or fakes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.domain import (
    ClassSession,
    Coupon,
    Delivery,
    Identity,
    Interaction,
    Learner,
    LearnerActivity,
    LearnerScore,
    OutboundMessage,
    Platform,
)


class Clock(Protocol):
    def now(self) -> datetime: ...


class Messenger(Protocol):
    """Sends neutral messages on one platform. Must not raise for a failed send: it returns a Delivery."""

    @property
    def platform(self) -> Platform: ...

    async def send(self, message: OutboundMessage) -> Delivery: ...


class Scorer(Protocol):
    """Turns learners' activity into scores and segments; the rules today, a trained model later."""

    def score(self, activity: Sequence[LearnerActivity]) -> list[LearnerScore]: ...


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    duplicates: int


class Intake(Protocol):
    async def ingest(self, batch: Sequence[Interaction]) -> IngestResult: ...


class Learners(Protocol):
    async def resolve(self, identity: Identity, name: str = "", language: str = "") -> str: ...

    async def get(self, learner_id: str) -> Learner | None: ...

    async def get_many(self, learner_ids: Sequence[str]) -> dict[str, Learner]: ...

    async def set_opted_out(self, learner_id: str, opted_out: bool) -> bool: ...

    async def mark_reachable(self, learner_id: str, platform: Platform) -> None: ...

    async def mark_unreachable(self, learner_id: str, platform: Platform, reason: str) -> None: ...


class Classes(Protocol):
    async def save(self, session: ClassSession) -> None: ...

    async def get(self, course_id: str, class_id: str) -> ClassSession | None: ...

    async def current(self, course_id: str) -> ClassSession | None: ...

    async def new_id(self, course_id: str) -> str: ...


class Activity(Protocol):
    async def for_class(self, session: ClassSession) -> list[LearnerActivity]: ...

    async def course_learners(self, course_id: str) -> list[str]: ...

    async def buyers(self, course_id: str) -> set[str]: ...


class Scores(Protocol):
    async def save(self, scores: Sequence[LearnerScore]) -> None: ...

    async def top(self, course_id: str, class_id: str, n: int) -> list[LearnerScore]: ...

    async def for_class(self, course_id: str, class_id: str) -> dict[str, LearnerScore]: ...


class Coupons(Protocol):
    async def issue(self, coupon: Coupon, idempotency_key: str) -> Coupon: ...

    async def redeem(self, code: str, order_id: str, at: datetime) -> Coupon: ...

    async def for_learner(self, learner_id: str) -> list[Coupon]: ...

    async def counts(self, course_id: str) -> Mapping[str, int]: ...
