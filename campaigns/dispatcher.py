"""The dispatcher: takes messages from the outbox and delivers each one at most once.

Before a send it checks the guards again (the learner may have opted out or bought since the message was
queued), holds a message back during the learner's quiet hours or while a class is live, claims the
message's idempotency key (counting it against the learner's frequency caps in the same atomic step),
sends through the platform's messenger, and records the outcome: delivered; capped; retried later with
backoff (rate limits, server errors); unreachable (the learner blocked the bot: never retried on that
platform); dropped; or dead-lettered with the reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from bot.domain import ClassState, DeliveryStatus, Learner, Platform
from bot.ports import Activity, Classes, Clock, Envelope, Learners, Messenger, Outbox
from campaigns.fallback import Fallback
from campaigns.guards import Guards

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(minutes=10)

    def delay(self, attempts: int, retry_after: float) -> timedelta:
        backoff: timedelta = min(self.base * (2 ** max(attempts - 1, 0)), self.cap)
        return max(backoff, timedelta(seconds=retry_after))


@dataclass
class Dispatcher:
    outbox: Outbox
    learners: Learners
    activity: Activity
    messengers: Mapping[Platform, Messenger]
    clock: Clock
    consumer: str = "dispatcher-1"
    concurrency: int = 64
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    fallback: Fallback | None = None
    guards: Guards | None = None
    classes: Classes | None = None  # to know which courses have a live class (with guards)
    # A message read by a dispatcher that then died is taken over after this long.
    reclaim_after: timedelta = timedelta(minutes=2)
    outcomes: Counter[str] = field(default_factory=Counter)

    async def drain(self, batch: int = 256) -> int:
        """Deliver everything that is ready now, then return how many messages were handled (manual mode)."""
        handled = 0
        while True:
            await self.outbox.promote_due(self.clock.now())
            envelopes = await self.outbox.read(self.consumer, batch)
            if not envelopes:
                return handled
            await self._handle_all(envelopes)
            handled += len(envelopes)

    async def run(self, stop: asyncio.Event, batch: int = 256, block_ms: int = 1000) -> None:
        """Deliver continuously until `stop` is set; in-flight sends finish, the rest stays in the outbox."""
        reclaim_ms = int(self.reclaim_after.total_seconds() * 1000)
        while not stop.is_set():
            await self.outbox.promote_due(self.clock.now())
            envelopes = await self.outbox.reclaim(self.consumer, reclaim_ms, batch)
            envelopes += await self.outbox.read(self.consumer, batch, block_ms=block_ms)
            if envelopes:
                await self._handle_all(envelopes)

    async def _handle_all(self, envelopes: Sequence[Envelope]) -> None:
        gate = asyncio.Semaphore(self.concurrency)
        promoted = {e.message.course_id for e in envelopes if e.message.promotional}
        # Read before the sends start: checked inside them, every concurrent send would read the set again.
        buyers = {course: await self.activity.buyers(course) for course in sorted(promoted)}
        live = await self._live_courses(promoted)
        # The opt-out check needs each learner's profile: read them all in one round trip.
        profiles = await self.learners.get_many(
            sorted(
                {e.message.learner_id for e in envelopes if e.message.learner_id and e.message.campaign_id}
            )
        )

        async def one(envelope: Envelope) -> None:
            async with gate:
                await self._handle(envelope, buyers.get(envelope.message.course_id, set()), live, profiles)

        await asyncio.gather(*(one(e) for e in envelopes))

    async def _live_courses(self, courses: set[str]) -> set[str]:
        if self.classes is None or self.guards is None:
            return set()
        live = set()
        for course in courses:
            current = await self.classes.current(course)
            if current is not None and current.state is ClassState.LIVE:
                live.add(course)
        return live

    async def _finish(
        self, envelope: Envelope, status: str, *, message_id: str = "", reason: str = ""
    ) -> None:
        await self.outbox.finish(envelope, status, self.clock.now(), message_id=message_id, reason=reason)
        self.outcomes[status] += 1

    async def _handle(
        self,
        envelope: Envelope,
        buyers: set[str],
        live: set[str] | None = None,
        profiles: Mapping[str, Learner] | None = None,
    ) -> None:
        message = envelope.message
        now = self.clock.now()
        cap = None
        if message.learner_id and message.campaign_id:
            if profiles is not None:
                learner = profiles.get(message.learner_id)
            else:
                learner = await self.learners.get(message.learner_id)
            if learner is not None and learner.opted_out:
                await self._finish(envelope, "suppressed", reason="opted out")
                return
            suppress_buyers = self.guards is None or self.guards.config.guards.suppress_buyers
            if message.promotional and suppress_buyers and message.learner_id in buyers:
                await self._finish(envelope, "suppressed", reason="bought the course")
                return
            if self.guards is not None:
                held = self.guards.hold(message, learner, now, live or set())
                if held is not None:
                    due, reason = held
                    await self.outbox.hold(envelope, due, reason, now)
                    self.outcomes["held"] += 1
                    return
                cap = self.guards.cap(message, learner, now)
        verdict = await self.outbox.claim(message.key, self.consumer, now, cap)
        if verdict.startswith("capped") and self.guards is not None:
            await self._finish(envelope, "capped", reason=self.guards.cap_reason(verdict))
            return
        if verdict == "done":
            await self.outbox.ack(envelope)
            return
        if verdict == "unknown":
            await self._finish(envelope, "dead", reason="outcome unknown: a dispatcher stopped while sending")
            return
        messenger = self.messengers.get(message.platform)
        if messenger is None:
            await self._finish(envelope, "dead", reason=f"no messenger for {message.platform.value}")
            return
        try:
            delivery = await messenger.send(message)
        except Exception as exc:  # a messenger must not raise; if it does, the send may have happened
            log.exception(
                "messenger for %s raised; message %s dead-lettered", message.platform.value, message.key
            )
            await self._finish(envelope, "dead", reason=f"messenger error: {type(exc).__name__}")
            return
        if delivery.status is DeliveryStatus.DELIVERED:
            await self._finish(envelope, "delivered", message_id=delivery.message_id)
        elif delivery.status is DeliveryStatus.RETRY:
            attempts = envelope.attempts + 1
            if attempts >= self.retry.max_attempts:
                await self._finish(
                    envelope, "dead", reason=f"gave up after {attempts} attempts: {delivery.reason}"
                )
            else:
                due = self.clock.now() + self.retry.delay(attempts, delivery.retry_after)
                await self.outbox.defer(envelope, due, delivery.reason, self.clock.now())
                self.outcomes["retry"] += 1
        elif delivery.status is DeliveryStatus.UNREACHABLE:
            if message.learner_id:
                await self.learners.mark_unreachable(message.learner_id, message.platform, delivery.reason)
            await self._finish(envelope, "unreachable", reason=delivery.reason)
            if self.fallback is not None:
                replacements = await self.fallback(message)
                await self.outbox.enqueue(replacements, self.clock.now())
        else:
            log.warning(
                "message %s to %s chat %s dropped: %s",
                message.key,
                message.platform.value,
                message.chat_id,
                delivery.reason,
            )
            await self._finish(envelope, "dropped", reason=delivery.reason)
