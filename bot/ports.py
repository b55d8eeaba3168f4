"""The ports: what the core needs from the outside world, as small Protocols.

Adapters implement them (Redis, Telegram, Discord, the console); tests may use the real ones or fakes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.domain import (
    ClassSession,
    Coupon,
    Delivery,
    FlashOffer,
    Identity,
    Interaction,
    Learner,
    LearnerActivity,
    LearnerScore,
    OutboundMessage,
    Platform,
    Purchase,
)


class StoreUnavailable(Exception):
    """The store cannot be reached; the message says where and why, for a one-line error."""


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

    async def merge(self, keep: str, absorb: str) -> None: ...

    async def create_link_code(self, identity: Identity, code: str, ttl: timedelta) -> None: ...

    async def take_link_code(self, code: str) -> Identity | None: ...


class Classes(Protocol):
    async def save(self, session: ClassSession) -> None: ...

    async def get(self, course_id: str, class_id: str) -> ClassSession | None: ...

    async def current(self, course_id: str) -> ClassSession | None: ...

    async def latest_ended(self, course_id: str) -> ClassSession | None: ...

    async def all(self, course_id: str) -> list[ClassSession]: ...

    async def ids(self, course_id: str) -> list[str]: ...

    async def new_id(self, course_id: str) -> str: ...


class Activity(Protocol):
    async def for_class(
        self, session: ClassSession, class_minutes: float | None = None
    ) -> list[LearnerActivity]:
        """Every learner of the course with their counters in the class; minutes default to the class's."""
        ...

    async def course_learners(self, course_id: str) -> list[str]: ...

    async def enroll(self, course_id: str, learner_id: str) -> None: ...

    async def merge(self, course_id: str, keep: str, absorb: str, class_ids: list[str]) -> bool: ...

    async def buyers(self, course_id: str) -> set[str]: ...

    async def bought(self, course_id: str, learner_id: str) -> bool:
        """Whether this one learner bought the course (without reading every buyer)."""
        ...

    async def mark_buyer(self, course_id: str, learner_id: str) -> None: ...

    async def class_attendees(self, course_id: str, class_id: str) -> set[str]: ...

    async def last_platforms(self, course_id: str, learner_ids: list[str]) -> dict[str, str]: ...


class Scores(Protocol):
    async def save(self, scores: Sequence[LearnerScore]) -> None: ...

    async def top(self, course_id: str, class_id: str, n: int) -> list[LearnerScore]: ...

    async def for_class(self, course_id: str, class_id: str) -> dict[str, LearnerScore]: ...


class Orders(Protocol):
    async def add(self, purchase: Purchase) -> bool:
        """Record an order once; False when this order id was recorded before."""
        ...

    async def for_course(self, course_id: str) -> list[Purchase]: ...


class Offers(Protocol):
    async def new_id(self, course_id: str) -> str: ...

    async def save(self, offer: FlashOffer) -> None: ...

    async def get(self, course_id: str, offer_id: str) -> FlashOffer | None: ...

    async def running(self, course_id: str, now: datetime) -> FlashOffer | None: ...


class CouponIssuer(Protocol):
    async def issue(self, pool_id: str, course_id: str, learner_id: str, key: str, now: datetime) -> Coupon:
        """The learner's coupon from `pool_id` for this idempotency key: issued now or earlier."""
        ...


class CodeTaken(Exception):
    """A store refuses a freshly drawn coupon code because it exists already; the issuer draws again."""


class HoldsLiveCoupon(Exception):
    """The learner still holds an unexpired, unused coupon for the course: a second one is not issued."""

    def __init__(self, code: str) -> None:
        super().__init__(f"the learner already holds the live coupon {code}")
        self.code = code


@dataclass(frozen=True, slots=True)
class RedemptionRules:
    """A pool's limits, checked atomically at redemption."""

    min_order: float = 0.0  # order total before the discount
    per_code: int = 1
    per_pool: int = 0  # 0: no limit


NO_LIMITS = RedemptionRules()


class Coupons(Protocol):
    async def issue(
        self, coupon: Coupon, idempotency_key: str, *, source: str = "", one_live: bool = False
    ) -> Coupon: ...

    async def get(self, code: str) -> Coupon | None: ...

    async def reassign(self, from_learner: str, to_learner: str) -> int: ...

    async def redeem(
        self,
        code: str,
        order_id: str,
        at: datetime,
        *,
        order_total: float | None = None,
        rules: RedemptionRules = NO_LIMITS,
    ) -> Coupon:
        """Redeem atomically; raise a DomainError saying why not (used, expired, revoked, unknown...)."""
        ...

    async def for_learner(self, learner_id: str) -> list[Coupon]: ...

    async def counts(self, course_id: str) -> Mapping[str, int]: ...


@dataclass(frozen=True, slots=True)
class Envelope:
    """A message as the outbox holds it: what to send, and how many times it was tried."""

    entry_id: str
    message: OutboundMessage
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class CapCheck:
    """Frequency caps to check and count at claim time: counters of the learner's local day and ISO week."""

    day_key: str  # e.g. "tg-1:d:2026-11-04"
    week_key: str  # e.g. "tg-1:w:2026-W45"
    day_cap: int
    week_cap: int


@dataclass(frozen=True, slots=True)
class Touch:
    """A promotional campaign message delivered to a learner: what a purchase may be attributed to."""

    campaign_id: str
    step_id: str
    variant: str
    at: datetime


class Outbox(Protocol):
    """The durable queue between campaigns and platforms; each idempotency key is sent at most once."""

    async def enqueue(
        self, messages: Sequence[OutboundMessage], now: datetime, due: Mapping[str, datetime] | None = None
    ) -> int: ...

    async def read(self, consumer: str, count: int, block_ms: int | None = None) -> list[Envelope]: ...

    async def reclaim(self, consumer: str, min_idle_ms: int, count: int) -> list[Envelope]: ...

    async def claim(self, key: str, consumer: str, now: datetime, cap: CapCheck | None = None) -> str: ...

    async def hold(self, envelope: Envelope, due: datetime, reason: str, now: datetime) -> None: ...

    async def finish(
        self, envelope: Envelope, status: str, now: datetime, *, message_id: str = "", reason: str = ""
    ) -> None: ...

    async def ack(self, envelope: Envelope) -> None: ...

    async def defer(self, envelope: Envelope, due: datetime, reason: str, now: datetime) -> None: ...

    async def promote_due(self, now: datetime, limit: int = 500) -> int: ...

    async def seen(self, key: str) -> bool: ...

    async def delivered_id(self, key: str) -> str | None:
        """The platform's message id of the delivered message with this key, if it was delivered."""
        ...

    async def record_skip(
        self, campaign_id: str, step_id: str, reason: str, count: int = 1, variant: str = ""
    ) -> None: ...

    async def stats(self) -> dict[tuple[str, str, str], int]: ...

    async def undecided(self, keys: Sequence[str]) -> set[str]: ...

    async def mark_decided(self, keys: Sequence[str], ttl_s: int = 90 * 86400) -> None: ...


class Explainer(Protocol):
    """Why a learner has their score: a headline and the signals that raised and lowered it, in words."""

    async def explain(self, course_id: str, learner_id: str) -> tuple[str, list[str]]: ...


class LinkMaker(Protocol):
    """The personal link a learner opens to watch a class (a tracked link once the relay runs)."""

    async def class_link(self, learner_id: str, session: ClassSession) -> str: ...

    async def class_links(self, learner_ids: Iterable[str], session: ClassSession) -> dict[str, str]:
        """Many learners' links to one class at once (a campaign step's chunk)."""
        ...


class ClassEvents(Protocol):
    """What the campaign engine hears from the teachers' commands."""

    async def class_scheduled(self, session: ClassSession) -> int: ...

    async def class_started(self, session: ClassSession) -> int: ...

    async def class_ended(self, session: ClassSession) -> int: ...
