"""Teacher commands: schedule, go live, end, live stats, hot leads. Only a course's teachers may run them."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from bot import formatting
from bot.config import Config, CourseConfig
from bot.domain import (
    Button,
    ClassSession,
    ClassState,
    DomainError,
    FlashOffer,
    InteractionKind,
    Platform,
    callbacks,
)
from bot.ports import Activity, Classes, ClassEvents, Clock, Explainer, Learners, Offers, Scores
from bot.usecases.announce import Announcer, linked_chats
from bot.usecases.offers import flash_offer_text
from bot.usecases.parsing import (
    UsageError,
    parse_count,
    parse_live,
    parse_offer,
    parse_poll,
    parse_schedule,
    split_stream_url,
)
from bot.usecases.replies import Actor, PollRequest, Reply
from bot.usecases.rescore import Rescorer

K = InteractionKind


class StatsExtra(Protocol):
    """More lines for the live stats, from parts wired in later (viewers on the watch page, a forecast)."""

    async def lines(self, session: ClassSession) -> list[str]: ...


def is_teacher(course: CourseConfig, actor: Actor) -> bool:
    if actor.admin_teacher:
        return True
    ids = {Platform.TELEGRAM: course.teachers.telegram, Platform.DISCORD: course.teachers.discord}
    allowed = ids.get(actor.identity.platform, [])
    return actor.identity.user_id in {str(i) for i in allowed}


def local(when: datetime | None, course: CourseConfig) -> str:
    if when is None:
        return "?"
    return f"{when.astimezone(course.timezone):%a %d %b %H:%M} ({course.timezone.key})"


@dataclass
class TeacherCommands:
    config: Config
    classes: Classes
    activity: Activity
    scores: Scores
    learners: Learners
    rescorer: Rescorer
    events: ClassEvents
    clock: Clock
    offers: Offers
    explainer: Explainer | None = None
    announcer: Announcer | None = None
    extras: list[StatsExtra] = field(default_factory=list)

    def _course(self, course_id: str, actor: Actor) -> CourseConfig:
        course = self.config.courses.get(course_id)
        if course is None:
            raise DomainError("This chat is not linked to any course.")
        if not is_teacher(course, actor):
            raise DomainError(f"Sorry, only the teachers of {course.name} can do that.")
        return course

    async def schedule(self, actor: Actor, course_id: str, args: str) -> Reply:
        course = self._course(course_id, actor)
        when, title = parse_schedule(args, course.timezone, self.clock.now())
        title, stream_url = split_stream_url(title)
        session = ClassSession(
            id=await self.classes.new_id(course_id),
            course_id=course_id,
            title=title,
            state=ClassState.SCHEDULED,
            scheduled_at=when,
            stream_url=stream_url,
            planned_minutes=course.class_minutes,
        )
        await self.classes.save(session)
        planned = await self.events.class_scheduled(session)
        reminders = f"{planned} reminder{'s' if planned != 1 else ''} planned"
        return Reply(f"Scheduled {formatting.bold(title)} for {local(when, course)}; {reminders}.")

    async def live(self, actor: Actor, course_id: str, args: str) -> Reply:
        course = self._course(course_id, actor)
        url, title = parse_live(args)
        now = self.clock.now()
        current = await self.classes.current(course_id)
        if current is None:
            current = ClassSession(
                id=await self.classes.new_id(course_id),
                course_id=course_id,
                title=title or f"{course.name} live",
                state=ClassState.SCHEDULED,
                planned_minutes=course.class_minutes,
            )
        was_live = current.state is ClassState.LIVE
        if was_live and url == current.stream_url and not title:
            return Reply(f"{formatting.bold(current.title)} is already live with that link.", private=True)
        session = current.go_live(url, now, title or None)
        await self.classes.save(session)
        if not was_live:
            await self.events.class_started(session)
        if self.announcer is not None and linked_chats(course):
            if was_live:
                revision = hashlib.sha256(url.encode()).hexdigest()[:10]
                edited = await self.announcer.update(session, revision)
                return Reply(f"Link changed: the announcement was updated in {edited} chat(s).", private=True)
            queued = await self.announcer.announce(session)
            return Reply(
                f"🔴 {formatting.bold(session.title)} is live: announced in {queued} chat(s) of "
                f"{course.name}, pinned where I may pin.",
                private=True,
            )
        headline = "The link changed" if was_live else "We are live"
        return Reply(
            f"🔴 {headline}: {formatting.bold(session.title)} ({course.name}). "
            "Press the button to get your personal link.",
            buttons=(Button("Join the live class", callback=callbacks.join(course_id, session.id)),),
        )

    async def stream_started(self, session: ClassSession) -> bool:
        """The relay saw a scheduled class's HLS stream start: go live and announce it, as /live would.

        Idempotent: several relay processes may each report the same start.
        """
        current = await self.classes.get(session.course_id, session.id)
        if current is None or current.state is not ClassState.SCHEDULED or not current.stream_url:
            return False
        live = current.go_live(current.stream_url, self.clock.now())
        await self.classes.save(live)
        await self.events.class_started(live)
        if self.announcer is not None:
            await self.announcer.announce(live)
        return True

    async def _live_class(self, course_id: str, what: str) -> ClassSession:
        current = await self.classes.current(course_id)
        if current is None or current.state is not ClassState.LIVE:
            raise DomainError(f"{what} run during a live class; start one with /live first.")
        return current

    async def poll(self, actor: Actor, course_id: str, args: str) -> Reply:
        self._course(course_id, actor)
        question, options = parse_poll(args)
        session = await self._live_class(course_id, "Polls")
        return Reply(
            f"📊 {formatting.bold(question)}",
            poll=PollRequest(question, tuple(options), course_id, session.id),
        )

    async def offer(self, actor: Actor, course_id: str, args: str) -> Reply:
        """A flash offer: a coupon pool offered to the live class for a few minutes, with a claim button."""
        self._course(course_id, actor)
        pool, minutes = parse_offer(args, sorted(self.config.coupons))
        session = await self._live_class(course_id, "Flash offers")
        now = self.clock.now()
        offer = FlashOffer(
            await self.offers.new_id(course_id),
            course_id,
            session.id,
            pool,
            now,
            now + timedelta(minutes=minutes),
        )
        await self.offers.save(offer)
        return Reply(
            flash_offer_text(offer, self.config, now),
            buttons=(Button("Claim offer", callback=callbacks.claim(course_id, offer.id)),),
            offer=offer,
        )

    async def end(self, actor: Actor, course_id: str, args: str = "") -> Reply:
        course = self._course(course_id, actor)
        current = await self.classes.current(course_id)
        if current is None or current.state is not ClassState.LIVE:
            raise DomainError("No class of this course is live right now.")
        session = current.end(self.clock.now())
        await self.classes.save(session)
        scores = await self.rescorer.rescore(session)
        await self.events.class_ended(session)
        segments = Counter(s.segment.value for s in scores)
        attended = len(await self.activity.class_attendees(course_id, session.id))
        return Reply(
            f"Class {formatting.bold(session.title)} ended after {round(session.minutes)} min. "
            f"{attended} learners took part; hot {segments['hot']}, warm {segments['warm']}, "
            f"cold {segments['cold']}. Follow-ups are scheduled for {course.name}."
        )

    async def _class_for_stats(self, course_id: str) -> ClassSession:
        current = await self.classes.current(course_id)
        if current is not None and current.state is ClassState.LIVE:
            return current
        latest = await self.classes.latest_ended(course_id)
        if latest is None:
            raise DomainError("There is no live or past class to report on yet.")
        return latest

    async def stats(self, actor: Actor, course_id: str, args: str = "") -> Reply:
        self._course(course_id, actor)
        session = await self._class_for_stats(course_id)
        activity = await self.activity.for_class(session, session.minutes_at(self.clock.now()))
        scores = await self.rescorer.rescore(session) if session.state is ClassState.LIVE else None
        attended = [a for a in activity if a.attended]
        total = Counter[K]()
        for a in attended:
            total.update(a.counts)
        avg_watch = sum(a.watched_minutes for a in attended) / len(attended) if attended else 0.0
        share = len(attended) / len(activity) if activity else 0.0
        state = (
            f"live for {round((self.clock.now() - session.started_at).total_seconds() / 60)} min"
            if session.state is ClassState.LIVE and session.started_at
            else f"ended, {round(session.minutes)} min"
        )
        lines = [
            f"📊 {formatting.bold(session.title)} — {state}",
            f"Learners in class: {len(attended)} of {len(activity)} ({share:.0%})",
            f"Average watch time: {avg_watch:.0f} min",
            f"Messages {total[K.MESSAGE]} · questions {total[K.QUESTION]} · reactions {total[K.REACTION]} · "
            f"poll answers {total[K.POLL_ANSWER]} · offer clicks {total[K.OFFER_CLICK]}",
        ]
        if scores is not None:
            segments = Counter(s.segment.value for s in scores)
            lines.append(
                f"Segments now: hot {segments['hot']} · warm {segments['warm']} · cold {segments['cold']}"
            )
        for extra in self.extras:
            lines += await extra.lines(session)
        return Reply("\n".join(lines), private=True)

    async def why(self, actor: Actor, course_id: str, args: str) -> Reply:
        """Why a learner has their score: the signals that raised and lowered it, in words (privately)."""
        self._course(course_id, actor)
        who = args.strip().lstrip("@")
        if not who:
            raise UsageError("why", "Name the learner (their name as the bot knows it, or their learner id).")
        try:
            learner_id = await self._find_learner(course_id, who)
        except DomainError as exc:  # about learners: answered where the answer itself would go
            return Reply.refusal(str(exc), private=True)
        if self.explainer is None:
            raise DomainError("Explanations are not available in this deployment.")
        headline, lines = await self.explainer.explain(course_id, learner_id)
        learner = await self.learners.get(learner_id)
        name = learner.display_name if learner else learner_id
        text = [f"🔎 {formatting.bold(name)} — {headline.split(': ', 1)[-1]}"]
        text += [f"• {line}" for line in lines] or ["• nothing recorded yet"]
        return Reply("\n".join(text), private=True)

    async def _find_learner(self, course_id: str, who: str) -> str:
        learner_ids = await self.activity.course_learners(course_id)
        if who in learner_ids:
            return who
        profiles = await self.learners.get_many(learner_ids)
        wanted = who.casefold()
        exact = [lid for lid, p in profiles.items() if p.name.casefold() == wanted]
        matches = exact or [lid for lid, p in profiles.items() if wanted in p.name.casefold()]
        if not matches:
            raise DomainError(f"No learner of this course is called {who!r}.")
        if len(matches) > 1:
            names = ", ".join(f"{profiles[m].display_name} ({m})" for m in sorted(matches)[:5])
            raise DomainError(f"Several learners match {who!r}: {names}. Use the learner id.")
        return matches[0]

    async def hot(self, actor: Actor, course_id: str, args: str = "") -> Reply:
        self._course(course_id, actor)
        n = parse_count(args, "hot", default=10)
        session = await self._class_for_stats(course_id)
        if session.state is ClassState.LIVE:
            await self.rescorer.rescore(session)
        top = await self.scores.top(course_id, session.id, n)
        hot = [s for s in top if s.segment.value in ("hot", "warm")]
        if not hot:
            return Reply(f"No hot or warm learners in {formatting.bold(session.title)} yet.", private=True)
        names = await self.learners.get_many([s.learner_id for s in hot])
        lines = [f"🔥 Hot leads in {formatting.bold(session.title)}:"]
        for rank, score in enumerate(hot, 1):
            learner = names.get(score.learner_id)
            name = learner.display_name if learner else score.learner_id
            measure = f"{score.probability:.0%}" if score.probability is not None else f"{score.index:.2f}"
            lines.append(
                f"{rank}. {formatting.bold(name)} ({score.segment.value}, {measure}): {score.reason_text}"
            )
        return Reply("\n".join(lines), private=True)


__all__ = ["StatsExtra", "TeacherCommands", "is_teacher"]
