"""Running one campaign step: choose the audience, split off the holdout, personalise, issue coupons, enqueue.

Every message's idempotency key is (campaign, step, occurrence, recipient): the occurrence is the class for
class triggers, the fire time for a recurring step, and for a learner's own trigger the moment that set it
off (the class in which they entered a segment, their last activity, their offer click, their coupon).
Running the same step for the same occurrence again enqueues nothing new, and a coupon is issued once per
key.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from bot.config import Config, CourseConfig, StepConfig
from bot.config.audience import courses_named
from bot.config.campaigns import CLASS_TRIGGERS
from bot.domain import (
    Button,
    ClassSession,
    ClassState,
    CouponStatus,
    Learner,
    LearnerScore,
    OutboundMessage,
    Platform,
    callbacks,
)
from bot.ports import Activity, Classes, Clock, Coupons, HoldsLiveCoupon, Learners, LinkMaker, Outbox, Scores
from campaigns.audience import facts_for, matches, private_route
from campaigns.compose import context, render_step
from campaigns.coupons import issue_coupon
from campaigns.experiments import HOLDOUT, arm
from campaigns.fallback import group_mention
from campaigns.links import buy_link
from campaigns.ports import CampaignState

log = logging.getLogger(__name__)
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Target:
    """A learner a step may be for, and the occurrence (part of the idempotency key) it would be for."""

    learner_id: str
    occurrence: str
    coupon: str = ""  # a coupon the message is about (coupon_expiring), instead of issuing one


class CouponGone(Exception):
    """The coupon a message is about was redeemed, revoked or has expired meanwhile."""


@dataclass(frozen=True, slots=True)
class StepOutcome:
    enqueued: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


class StreamLinks:
    """Until the stream relay runs, the personal link is the stream URL itself."""

    async def class_link(self, learner_id: str, session: ClassSession) -> str:
        return session.stream_url

    async def class_links(self, learner_ids: Iterable[str], session: ClassSession) -> dict[str, str]:
        return dict.fromkeys(learner_ids, session.stream_url)


def message_key(campaign_id: str, step_id: str, occurrence: str, recipient: str) -> str:
    return f"{campaign_id}:{step_id}:{occurrence}:{recipient}"


class _Recipient(NamedTuple):
    """A learner a step's message goes to, with what their message is made of."""

    target: Target
    learner: Learner
    route: tuple[Platform, str]
    score: LearnerScore | None
    counters: dict[str, str] | None
    key: str
    variant: str


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
    state: CampaignState
    links: LinkMaker = field(default_factory=StreamLinks)
    ref_secret: bytes | None = None

    def _step(self, campaign_id: str, step_id: str) -> StepConfig | None:
        try:
            return self.config.step(campaign_id, step_id)
        except StopIteration:
            log.warning("campaign step %s/%s is no longer configured; not run", campaign_id, step_id)
            return None

    async def run(self, course_id: str, class_id: str, campaign_id: str, step_id: str) -> StepOutcome:
        """A class step, for every learner of the course (or its chats)."""
        step = self._step(campaign_id, step_id)
        if step is None:
            return StepOutcome()
        if step.trigger not in CLASS_TRIGGERS:
            log.warning("step %s/%s is not a class step; it runs from its own trigger", campaign_id, step_id)
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
            return await self._groups(step, session, campaign_id, session.id)
        learner_ids = await self.activity.course_learners(course_id)
        targets = [Target(lid, session.id) for lid in learner_ids]
        return await self.run_targets(campaign_id, step, session, targets)

    async def run_recurring(
        self, course_id: str, campaign_id: str, step: StepConfig, occurrence: str
    ) -> StepOutcome:
        session = await self.context_session(course_id)
        if step.to == "groups":
            return await self._groups(step, session, campaign_id, occurrence)
        learner_ids = await self.activity.course_learners(course_id)
        return await self.run_targets(
            campaign_id, step, session, [Target(lid, occurrence) for lid in learner_ids]
        )

    async def context_session(self, course_id: str) -> ClassSession:
        """The class a learner-triggered or recurring step talks about: live or next, else the last one."""
        session = await self.classes.current(course_id) or await self.classes.latest_ended(course_id)
        return session or ClassSession("", course_id, "", ClassState.SCHEDULED)

    async def _groups(
        self, step: StepConfig, session: ClassSession, campaign_id: str, occurrence: str
    ) -> StepOutcome:
        course = self.config.courses[session.course_id]
        text = render_step(step, course, course.language, context(course, session, None, session.stream_url))
        buttons = (
            (Button(step.button, callback=callbacks.join(session.course_id, session.id)),)
            if step.button and session.id
            else ()
        )
        chats = [(Platform.TELEGRAM, str(c)) for c in course.telegram_chats]
        chats += [(Platform.DISCORD, str(c)) for c in course.discord_channels]
        messages = [
            OutboundMessage(
                key=message_key(campaign_id, step.id, occurrence, f"chat:{platform.value}:{chat}"),
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
        return StepOutcome(enqueued=await self.outbox.enqueue(messages, self.clock.now()))

    async def run_targets(
        self,
        campaign_id: str,
        step: StepConfig,
        session: ClassSession,
        targets: Sequence[Target],
        due: datetime | None = None,
    ) -> StepOutcome:
        """The step for these learners (each with their occurrence); messages wait until `due` if later."""
        course_id = session.course_id
        course = self.config.courses[course_id]
        keyed_all = {message_key(campaign_id, step.id, t.occurrence, t.learner_id): t for t in targets}
        # A learner decided about by an earlier run of this occurrence (a sweep sees the same learner
        # again within its window; a job may fire twice) is neither sent to nor counted again.
        fresh = await self.outbox.undecided(list(keyed_all))
        targets = [t for k, t in keyed_all.items() if k in fresh]
        if not targets:
            return StepOutcome()
        scores = await self.scores.for_class(course_id, session.id) if session.id else {}
        buyers = await self.activity.buyers(course_id)
        enrolments = {c: set(await self.activity.course_learners(c)) for c in courses_named(step.audience)}
        skipped: Counter[tuple[str, str]] = Counter()
        enqueued = 0
        now = self.clock.now()
        for start in range(0, len(targets), _CHUNK):
            chunk = list(targets[start : start + _CHUNK])
            ids = [t.learner_id for t in chunk]
            profiles = await self.learners.get_many(ids)
            last = await self.activity.last_platforms(course_id, ids)
            counters = await self.state.class_counters(course_id, session.id, ids) if session.id else {}
            batch: list[OutboundMessage] = []
            personal: list[_Recipient] = []
            due_at: dict[str, datetime] = {}
            arms: dict[str, str] = {}
            for target in chunk:
                learner_id = target.learner_id
                learner = profiles.get(learner_id) or Learner(learner_id)
                score = scores.get(learner_id)
                mine = counters.get(learner_id) or None
                enrolled = frozenset(c for c, members in enrolments.items() if learner_id in members)
                bought = learner_id in buyers
                if not matches(step.audience, facts_for(learner, score, mine, enrolled, bought)):
                    continue
                if learner.opted_out:
                    skipped[("opted out", "")] += 1
                    continue
                if step.promotional and bought and self.config.guards.suppress_buyers:
                    skipped[("bought the course", "")] += 1
                    continue
                if await self._sent_to_alias(campaign_id, step.id, target.occurrence, learner):
                    skipped[("already sent to a linked account", "")] += 1
                    continue
                variant = arm(campaign_id, step, learner_id)
                if step.holdout or step.variants:
                    arms[learner_id] = variant
                if variant == HOLDOUT:
                    skipped[("held out", HOLDOUT)] += 1
                    continue
                key = message_key(campaign_id, step.id, target.occurrence, learner_id)
                route = private_route(learner, last.get(learner_id))
                if route is None:
                    mention = (
                        self._fallback(step, session, campaign_id, learner, key, variant)
                        if step.fallback_to_group
                        else None
                    )
                    if mention is None:
                        skipped[("no way to reach privately", variant)] += 1
                    else:
                        batch.append(mention)
                    continue
                personal.append(_Recipient(target, learner, route, score, mine, key, variant))
            # Every personal link of the chunk in one write, for those who will get a message.
            links = (
                await self.links.class_links([r.learner.id for r in personal], session)
                if session.id and personal
                else {}
            )
            for r in personal:
                variant = r.variant
                try:
                    message = await self._personal(
                        step, course, session, campaign_id, r, links.get(r.learner.id, "")
                    )
                except HoldsLiveCoupon:
                    skipped[("holds a live coupon", variant)] += 1
                    continue
                except CouponGone:
                    skipped[("coupon already used or revoked", variant)] += 1
                    continue
                batch.append(message)
                chosen = step.variant(variant)
                delay = chosen.delay if chosen is not None else timedelta(0)
                when = (due or now) + delay
                if when > now:
                    due_at[message.key] = when
            if arms:
                await self.state.assign(campaign_id, step.id, arms, now)
            enqueued += await self.outbox.enqueue(batch, now, due_at)
            # Marked after the enqueue: a crash in between re-evaluates these learners (the enqueue is
            # idempotent) rather than losing their messages.
            await self.outbox.mark_decided(
                [message_key(campaign_id, step.id, t.occurrence, t.learner_id) for t in chunk]
            )
        for (reason, variant), count in skipped.items():
            await self.outbox.record_skip(campaign_id, step.id, reason, count, variant)
        return StepOutcome(enqueued=enqueued, skipped=Counter({r: n for (r, _), n in skipped.items()}))

    async def _sent_to_alias(self, campaign_id: str, step_id: str, occurrence: str, learner: Learner) -> bool:
        """A learner who linked two accounts gets each step once, even if one account had it already."""
        for alias in learner.aliases:
            if await self.outbox.seen(message_key(campaign_id, step_id, occurrence, alias)):
                return True
        return False

    def _fallback(
        self,
        step: StepConfig,
        session: ClassSession,
        campaign_id: str,
        learner: Learner,
        key: str,
        variant: str,
    ) -> OutboundMessage | None:
        course = self.config.courses[session.course_id]
        for identity in learner.identities:
            placeholder = OutboundMessage(
                key=key,
                platform=identity.platform,
                chat_id="",
                text="",
                learner_id=learner.id,
                course_id=session.course_id,
                campaign_id=campaign_id,
                step_id=step.id,
                class_id=session.id,
                promotional=step.promotional,
                variant=variant,
            )
            mention = group_mention(placeholder, identity, learner.display_name, course)
            if mention is not None:
                return mention
        return None

    async def _personal(
        self,
        step: StepConfig,
        course: CourseConfig,
        session: ClassSession,
        campaign_id: str,
        recipient: _Recipient,
        link: str,
    ) -> OutboundMessage:
        target, learner, route, score, counters, key, variant = recipient
        chosen = step.variant(variant)
        pool = chosen.coupon if chosen is not None and chosen.coupon else step.coupon
        coupon = None
        if target.coupon:
            coupon = await self.coupons.get(target.coupon)
            if coupon is None or coupon.status_at(self.clock.now()) is not CouponStatus.ISSUED:
                raise CouponGone(target.coupon)
        elif pool and pool != "none":
            coupon = await issue_coupon(
                self.coupons,
                pool,
                self.config.coupons[pool],
                session.course_id,
                course,
                learner.id,
                key,
                self.clock.now(),
                source=f"{campaign_id}|{step.id}|{variant}",
                one_live=self.config.guards.one_live_coupon_per_course,
            )
        personal_buy = buy_link(course.buy_url, self.ref_secret, session.course_id, learner.id)
        watched = float((counters or {}).get("watch_s", 0)) / 60
        values = context(course, session, learner, link, coupon, score, watched, personal_buy)
        text = render_step(step, course, learner.language, values, variant)
        buttons: tuple[Button, ...] = ()
        if step.button:
            # Before and during a class the button opens the class; after it, the (personal) buy link.
            after_class = step.trigger not in ("before_class", "class_started")
            url = personal_buy if after_class and personal_buy else link
            if url:
                buttons = (Button(step.button, url=url),)
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
            variant=variant,
        )
