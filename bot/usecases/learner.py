"""Learner commands: start (and join a class), ask, stop, resume, my coupons, help."""

from __future__ import annotations

from dataclasses import dataclass

from bot import formatting
from bot.config import Config
from bot.domain import Button, ClassState, CouponStatus, Identity, Interaction, InteractionKind
from bot.ports import Activity, Classes, Clock, CouponIssuer, Coupons, Intake, Learners, LinkMaker, Offers
from bot.usecases.offers import offer_label
from bot.usecases.replies import Reply

HELP = (
    "I am the class assistant. Commands:\n"
    "/start — get class links and offers from me\n"
    "/stop — no more offers or reminders (takes effect at once)\n"
    "/resume — get offers and reminders again\n"
    "/mycoupons — your personal coupons\n"
    "/help — this text"
)


@dataclass
class LearnerCommands:
    config: Config
    learners: Learners
    classes: Classes
    activity: Activity
    coupons: Coupons
    intake: Intake
    links: LinkMaker
    clock: Clock
    offers: Offers
    issuer: CouponIssuer

    async def _learner(self, who: Identity, name: str, language: str) -> str:
        return await self.learners.resolve(who, name, language)

    async def start(
        self,
        who: Identity,
        event_id: str,
        *,
        name: str = "",
        language: str = "",
        course_id: str = "",
        class_id: str = "",
    ) -> Reply:
        """The learner opened a private chat with the bot, maybe through a class's join link."""
        learner_id = await self._learner(who, name, language)
        await self.learners.mark_reachable(learner_id, who.platform)
        learner = await self.learners.get(learner_id)
        stopped = learner is not None and learner.opted_out
        note = "\nYou asked me not to send offers; /resume if you want them again." if stopped else ""
        if not course_id:
            return Reply(f"Welcome! I will send you class links and reminders.{note}\n\n{HELP}")
        course = self.config.courses.get(course_id)
        if course is None:
            return Reply.refusal("That link is for a course I do not know.")
        await self.activity.enroll(course_id, learner_id)
        if not class_id:
            return Reply(f"Welcome to {formatting.bold(course.name)}!{note}")
        session = await self.classes.get(course_id, class_id)
        if session is None:
            return Reply.refusal("That class does not exist.")
        if session.state is ClassState.ENDED:
            replay = (
                f" The replay: {formatting.link('watch', course.replay_url)}" if course.replay_url else ""
            )
            return Reply(f"{formatting.bold(session.title)} has ended.{replay}")
        await self.intake.ingest(
            [
                Interaction(
                    InteractionKind.JOIN,
                    who.platform,
                    event_id,
                    course_id,
                    learner_id,
                    self.clock.now(),
                    class_id=class_id,
                )
            ]
        )
        link = await self.links.class_link(learner_id, session)
        if session.state is ClassState.SCHEDULED or not link:
            return Reply(
                f"You are in for {formatting.bold(session.title)}. "
                f"I will send your link when it starts.{note}"
            )
        return Reply(
            f"Here is your personal link to {formatting.bold(session.title)}: "
            f"{formatting.link(link, link)}{note}"
        )

    async def claim_offer(
        self,
        who: Identity,
        event_id: str,
        course_id: str,
        offer_id: str,
        *,
        name: str = "",
        language: str = "",
    ) -> Reply:
        """The learner pressed "Claim offer": their own code, privately, while the offer runs."""
        offer = await self.offers.get(course_id, offer_id)
        course = self.config.courses.get(course_id)
        if offer is None or course is None:
            return Reply.refusal("I do not know that offer.")
        now = self.clock.now()
        if not offer.running(now):
            return Reply.refusal("Sorry, this flash offer has ended.")
        learner_id = await self._learner(who, name, language)
        await self.learners.mark_reachable(learner_id, who.platform)
        await self.activity.enroll(course_id, learner_id)
        await self.intake.ingest(
            [
                Interaction(
                    InteractionKind.OFFER_CLICK,
                    who.platform,
                    event_id,
                    course_id,
                    learner_id,
                    now,
                    class_id=offer.class_id,
                    payload={"offer": offer_id},
                )
            ]
        )
        if await self.activity.bought(course_id, learner_id):
            return Reply(f"You already own {formatting.bold(course.name)}: thank you!", private=True)
        coupon = await self.issuer.issue(
            offer.pool, course_id, learner_id, f"flash:{course_id}:{offer_id}:{learner_id}", now
        )
        until = coupon.expires_at.astimezone(course.timezone)
        buttons = (Button("Enrol now", url=course.buy_url),) if course.buy_url else ()
        label = formatting.bold(offer_label(offer, self.config))
        return Reply(
            f"Your code for {label}: {formatting.code(coupon.code)} (valid until {until:%a %d %b %H:%M}).",
            buttons=buttons,
            private=True,
        )

    async def stop(self, who: Identity, event_id: str, course_id: str = "") -> Reply:
        learner_id = await self._learner(who, "", "")
        changed = await self.learners.set_opted_out(learner_id, True)
        if course_id:
            await self.intake.ingest(
                [
                    Interaction(
                        InteractionKind.OPT_OUT,
                        who.platform,
                        event_id,
                        course_id,
                        learner_id,
                        self.clock.now(),
                    )
                ]
            )
        if not changed:
            return Reply("You are already opted out. /resume to get offers and reminders again.")
        return Reply("Done: no more offers or reminders from me. /resume if you change your mind.")

    async def resume(self, who: Identity, event_id: str, course_id: str = "") -> Reply:
        learner_id = await self._learner(who, "", "")
        await self.learners.set_opted_out(learner_id, False)
        if course_id:
            await self.intake.ingest(
                [
                    Interaction(
                        InteractionKind.OPT_IN,
                        who.platform,
                        event_id,
                        course_id,
                        learner_id,
                        self.clock.now(),
                    )
                ]
            )
        return Reply("Welcome back: you will get class reminders and offers again. /stop stops them.")

    async def my_coupons(self, who: Identity) -> Reply:
        learner_id = await self._learner(who, "", "")
        now = self.clock.now()
        coupons = await self.coupons.for_learner(learner_id)
        if not coupons:
            return Reply("You have no coupons yet.", private=True)
        lines = ["Your coupons:"]
        for coupon in coupons:
            course = self.config.courses.get(coupon.course_id)
            course_name = course.name if course else coupon.course_id
            tz = course.timezone if course else None
            status = coupon.status_at(now)
            until = coupon.expires_at.astimezone(tz) if tz else coupon.expires_at
            detail = f"valid until {until:%a %d %b %H:%M}" if status is CouponStatus.ISSUED else status.value
            lines.append(f"• {formatting.code(coupon.code)} — {coupon.label} on {course_name} ({detail})")
        return Reply("\n".join(lines), private=True)

    async def help(self) -> Reply:
        return Reply(HELP)
