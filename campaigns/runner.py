"""Running one campaign step for one class: choose the audience, personalise, issue coupons, enqueue.

Running the same step twice enqueues nothing new: every message's idempotency key is
(campaign, step, class, recipient), and a coupon is issued once per such key.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from bot.config import Config, StepConfig
from bot.domain import (
    Button,
    ClassSession,
    Learner,
    LearnerActivity,
    LearnerScore,
    OutboundMessage,
    Platform,
    callbacks,
)
from bot.ports import Activity, Classes, Clock, Coupons, Learners, LinkMaker, Outbox, Scores
from campaigns.audience import in_audience, private_route
from campaigns.compose import context, render_step
from campaigns.coupons import issue_coupon
from campaigns.fallback import group_mention

log = logging.getLogger(__name__)
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class StepOutcome:
    enqueued: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


class StreamLinks:
    """Until the stream relay runs, the personal link is the stream URL itself."""

    def class_link(self, learner_id: str, session: ClassSession) -> str:
        return session.stream_url


@dataclass
class StepRunner:
    config: Config
    learners: Learners
    classes: Classes
    activity: Activity
    scores: Scores
    coupons: Coupons
    outbox: Outbox
    clock: Clock
    links: LinkMaker = field(default_factory=StreamLinks)

    async def run(self, course_id: str, class_id: str, campaign_id: str, step_id: str) -> StepOutcome:
        try:
            step = self.config.step(campaign_id, step_id)
        except StopIteration:
            log.warning("campaign step %s/%s is no longer configured; not run", campaign_id, step_id)
            return StepOutcome()
        session = await self.classes.get(course_id, class_id)
        if session is None:
            log.warning(
                "class %s of course %s does not exist; step %s/%s not run",
                class_id,
                course_id,
                campaign_id,
                step_id,
            )
            return StepOutcome()
        if step.to == "groups":
            messages = self._group_messages(step, session, campaign_id)
            return StepOutcome(enqueued=await self.outbox.enqueue(messages, self.clock.now()))
        return await self._learner_messages(step, session, campaign_id)

    def _group_messages(
        self, step: StepConfig, session: ClassSession, campaign_id: str
    ) -> list[OutboundMessage]:
        course = self.config.courses[session.course_id]
        text = render_step(step, course, course.language, context(course, session, None, session.stream_url))
        buttons = (
            (Button(step.button, callback=callbacks.join(session.course_id, session.id)),)
            if step.button
            else ()
        )
        chats = [(Platform.TELEGRAM, str(c)) for c in course.telegram_chats]
        chats += [(Platform.DISCORD, str(c)) for c in course.discord_channels]
        return [
            OutboundMessage(
                key=f"{campaign_id}:{step.id}:{session.id}:chat:{platform.value}:{chat}",
                platform=platform,
                chat_id=chat,
                text=text,
                private=False,
                course_id=session.course_id,
                campaign_id=campaign_id,
                step_id=step.id,
                class_id=session.id,
                promotional=step.promotional,
                buttons=buttons,
            )
            for platform, chat in chats
        ]

    async def _learner_messages(
        self, step: StepConfig, session: ClassSession, campaign_id: str
    ) -> StepOutcome:
        course_id = session.course_id
        activity = {a.learner_id: a for a in await self.activity.for_class(session)}
        learner_ids = list(activity)
        scores = await self.scores.for_class(course_id, session.id)
        skipped: Counter[str] = Counter()
        enqueued = 0
        for start in range(0, len(learner_ids), _CHUNK):
            chunk = learner_ids[start : start + _CHUNK]
            profiles = await self.learners.get_many(chunk)
            last = await self.activity.last_platforms(course_id, chunk)
            batch: list[OutboundMessage] = []
            for learner_id in chunk:
                learner = profiles.get(learner_id) or Learner(learner_id)
                score = scores.get(learner_id)
                if not in_audience(step, score, activity[learner_id].attended):
                    continue
                if learner.opted_out:
                    skipped["opted out"] += 1
                    continue
                if step.promotional and activity[learner_id].bought:
                    skipped["bought the course"] += 1
                    continue
                if await self._sent_to_alias(campaign_id, step.id, session.id, learner):
                    skipped["already sent to a linked account"] += 1
                    continue
                route = private_route(learner, last.get(learner_id))
                if route is None:
                    mention = (
                        self._fallback(step, session, campaign_id, learner)
                        if step.fallback_to_group
                        else None
                    )
                    if mention is None:
                        skipped["no way to reach privately"] += 1
                    else:
                        batch.append(mention)
                    continue
                batch.append(
                    await self._personal(
                        step, session, campaign_id, learner, route, score, activity[learner_id]
                    )
                )
            enqueued += await self.outbox.enqueue(batch, self.clock.now())
        for reason, count in skipped.items():
            await self.outbox.record_skip(campaign_id, step.id, reason, count)
        return StepOutcome(enqueued=enqueued, skipped=skipped)

    async def _sent_to_alias(self, campaign_id: str, step_id: str, class_id: str, learner: Learner) -> bool:
        """A learner who linked two accounts gets each step once, even if one account had it already."""
        for alias in learner.aliases:
            if await self.outbox.seen(f"{campaign_id}:{step_id}:{class_id}:{alias}"):
                return True
        return False

    def _fallback(
        self, step: StepConfig, session: ClassSession, campaign_id: str, learner: Learner
    ) -> OutboundMessage | None:
        course = self.config.courses[session.course_id]
        for identity in learner.identities:
            placeholder = OutboundMessage(
                key=f"{campaign_id}:{step.id}:{session.id}:{learner.id}",
                platform=identity.platform,
                chat_id="",
                text="",
                learner_id=learner.id,
                course_id=session.course_id,
                campaign_id=campaign_id,
                step_id=step.id,
                class_id=session.id,
                promotional=step.promotional,
            )
            mention = group_mention(placeholder, identity, learner.display_name, course)
            if mention is not None:
                return mention
        return None

    async def _personal(
        self,
        step: StepConfig,
        session: ClassSession,
        campaign_id: str,
        learner: Learner,
        route: tuple[Platform, str],
        score: LearnerScore | None,
        activity: LearnerActivity,
    ) -> OutboundMessage:
        course = self.config.courses[session.course_id]
        key = f"{campaign_id}:{step.id}:{session.id}:{learner.id}"
        coupon = None
        if step.coupon:
            coupon = await issue_coupon(
                self.coupons,
                step.coupon,
                self.config.coupons[step.coupon],
                session.course_id,
                course,
                learner.id,
                key,
                self.clock.now(),
            )
        link = self.links.class_link(learner.id, session)
        values = context(course, session, learner, link, coupon, score, activity.watched_minutes)
        text = render_step(step, course, learner.language, values)
        buttons: tuple[Button, ...] = ()
        if step.button:
            target = course.buy_url if step.trigger == "class_ended" and course.buy_url else link
            if target:
                buttons = (Button(step.button, url=target),)
        platform, chat_id = route
        return OutboundMessage(
            key=key,
            platform=platform,
            chat_id=chat_id,
            text=text,
            private=True,
            learner_id=learner.id,
            course_id=session.course_id,
            campaign_id=campaign_id,
            step_id=step.id,
            class_id=session.id,
            promotional=step.promotional,
            buttons=buttons,
            coupon_code=coupon.code if coupon else "",
            fallback_to_group=step.fallback_to_group,
        )
