"""Run a simulated course through the real pipeline: intake, scoring, campaigns, outbox, coupons.

Time is simulated (a ManualClock and the scheduler in manual mode): a two-day course story runs in seconds.
The same seed gives the same story and the same summary.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from adapters.console import RecordingMessenger
from bot.app import App, build_app
from bot.clock import ManualClock
from bot.config import Config, load_config
from bot.demo.personas import SimLearner, draw_learners, in_class
from bot.demo.summary import DemoSummary, summarise
from bot.domain import (
    ClassSession,
    CouponStatus,
    Identity,
    Interaction,
    InteractionKind,
    LearnerScore,
    Platform,
    Purchase,
)
from bot.simulated_time import advance
from bot.usecases.replies import Actor

K = InteractionKind
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday morning
CLASS_TITLE = "Decorators in depth"
DEMO_PREFIX = "cpdemo"
POLL_MINUTE = 20
OFFER_MINUTE = 45

Progress = Callable[[str, float], None]  # (what is happening, share done in [0, 1])


def default_config_path() -> Path:
    """config.example.toml: shipped inside the wheel, or at the top of a source checkout."""
    packaged = Path(__file__).resolve().parents[1] / "config.example.toml"
    if packaged.exists():
        return packaged
    return Path(__file__).resolve().parents[2] / "config.example.toml"


@dataclass(frozen=True, slots=True)
class DemoOptions:
    learners: int = 200
    seed: int = 1
    classes: int = 1  # a weekly series; from the fifth class on, the live stats forecast its sales
    redis_url: str = "memory://"
    config_path: Path | None = None


def _demo_config(config: Config, redis_url: str) -> Config:
    storage = config.storage.model_copy(update={"redis_url": redis_url, "key_prefix": DEMO_PREFIX})
    return config.model_copy(update={"storage": storage})


class _Story:
    def __init__(
        self, app: App, clock: ManualClock, sims: list[SimLearner], course_id: str, seed: int
    ) -> None:
        self.app = app
        self.clock = clock
        self.sims = sims
        self.course_id = course_id
        self.rng = random.Random(seed + 1)
        self.ids: dict[int, str] = {}
        self.teacher = Actor(Identity(Platform.CONSOLE, "teacher"), "Teacher", admin_teacher=True)

    async def advance_to(self, when: datetime) -> None:
        """Move time forward, running every scheduled step and delivering every message on the way."""
        await advance(self.app, self.clock, when)

    def _event(
        self,
        kind: InteractionKind,
        sim: SimLearner,
        event_id: str,
        at: datetime,
        class_id: str = "",
        **payload: str | int | float,
    ) -> Interaction:
        return Interaction(
            kind,
            sim.platform,
            event_id,
            self.course_id,
            self.ids[sim.index],
            at,
            chat_id="course-chat",
            class_id=class_id,
            payload=payload,
        )

    async def join_course(self) -> None:
        """Day one: everyone says hello in the course chat; some open the bot's private chat."""
        people = [(Identity(s.platform, s.user_id), s.name, s.language) for s in self.sims]
        for sim, learner_id in zip(
            self.sims, await self.app.store.learners.resolve_many(people), strict=True
        ):
            self.ids[sim.index] = learner_id
        hello = [
            self._event(K.MESSAGE, s, f"hello-{s.index}", START + timedelta(minutes=self.rng.randint(0, 600)))
            for s in self.sims
        ]
        await self.app.store.intake.ingest(hello)
        for sim in self.sims:
            if sim.starts_bot:
                await self.app.learner.start(
                    Identity(sim.platform, sim.user_id),
                    f"start-{sim.index}",
                    name=sim.name,
                    language=sim.language,
                    course_id=self.course_id,
                )

    async def run_class(self, session: ClassSession, progress: Progress) -> ClassSession:
        assert session.started_at is not None
        minutes = session.planned_minutes
        plan = self._class_plan(minutes)
        for minute in range(minutes):
            at = session.started_at + timedelta(minutes=minute)
            batch = [
                self._event(kind, sim, f"{kind.value}-{sim.index}-{minute}-{n}", at, session.id, **extra)
                for kind, sim, n, extra in plan.get(minute, [])
            ]
            for sim in self.sims:
                # One heartbeat per five minutes watched (the watch page sends one per 15 s; the counters
                # only keep the sum, and fewer events keep the embedded store fast).
                if (
                    sim.attends
                    and sim.join_minute <= minute < sim.leave_minute
                    and (minute - sim.join_minute) % 5 == 0
                ):
                    seconds = 60 * min(5, sim.leave_minute - minute)
                    batch.append(
                        self._event(
                            K.WATCH_HEARTBEAT,
                            sim,
                            f"hb-{sim.index}-{minute}",
                            at,
                            session.id,
                            seconds=seconds,
                        )
                    )
            await self.app.store.intake.ingest(batch)
            progress(f"class minute {minute + 1}/{minutes}", 0.05 + 0.75 * (minute + 1) / minutes)
        await self.advance_to(session.started_at + timedelta(minutes=minutes))
        reply = await self.app.teacher.end(self.teacher, self.course_id)
        assert reply.ok, reply.text
        ended = await self.app.store.classes.get(self.course_id, session.id)
        assert ended is not None
        return ended

    def _class_plan(
        self, minutes: int
    ) -> dict[int, list[tuple[InteractionKind, SimLearner, int, dict[str, str]]]]:
        """Which learner does what in which minute of the class."""
        plan: dict[int, list[tuple[InteractionKind, SimLearner, int, dict[str, str]]]] = {}

        def at(minute: int, kind: InteractionKind, sim: SimLearner, n: int = 0, **extra: str) -> None:
            plan.setdefault(min(max(minute, 0), minutes - 1), []).append((kind, sim, n, extra))

        for sim in self.sims:
            if not sim.attends:
                continue
            present = range(sim.join_minute, sim.leave_minute)
            at(sim.join_minute, K.LINK_CLICK, sim)
            at(sim.join_minute, K.JOIN, sim)
            for kind, count in (
                (K.MESSAGE, sim.messages),
                (K.QUESTION, sim.questions),
                (K.REACTION, sim.reactions),
            ):
                for n in range(count):
                    at(self.rng.choice(present), kind, sim, n)
            if sim.answers_poll and POLL_MINUTE in present:
                at(POLL_MINUTE + self.rng.randint(0, 2), K.POLL_ANSWER, sim, option="1")
            if sim.clicks_offer and sim.leave_minute > OFFER_MINUTE:
                at(max(OFFER_MINUTE, sim.join_minute) + self.rng.randint(0, 4), K.OFFER_CLICK, sim)
            if sim.leave_minute < minutes:
                at(sim.leave_minute, K.LEAVE, sim)
        return plan

    async def purchases(self, session: ClassSession) -> None:
        """After the follow-ups, some learners buy: mostly those holding a coupon, some without one."""
        assert session.ended_at is not None
        course = self.app.config.courses[self.course_id]
        orders: list[tuple[datetime, SimLearner, str, float]] = []
        buyers = await self.app.store.activity.buyers(self.course_id)
        for sim in self.sims:
            if self.ids[sim.index] in buyers:
                continue
            # The coupon this class brought them, if any (an unused one issued since the class began).
            coupons = [
                c
                for c in await self.app.store.coupons.for_learner(self.ids[sim.index])
                if c.status is CouponStatus.ISSUED
                and session.started_at
                and c.issued_at >= session.started_at
            ]
            coupon = coupons[0] if coupons else None
            if coupon is not None and sim.buy_roll < sim.persona.buys_with_coupon:
                window = (coupon.expires_at - coupon.issued_at).total_seconds()
                when = coupon.issued_at + timedelta(seconds=self.rng.uniform(600, window * 0.9))
                orders.append((when, sim, coupon.code, coupon.price_after(course.price)))
            elif sim.buy_roll < sim.persona.buys_anyway:
                when = session.ended_at + timedelta(hours=self.rng.uniform(1, 72))
                orders.append((when, sim, "", course.price))
        for n, (when, sim, code, amount) in enumerate(sorted(orders, key=lambda o: (o[0], o[1].index))):
            await self.advance_to(when - timedelta(minutes=5))
            # A buyer opens the buy link of their message first (the link click the report counts).
            await self.app.store.intake.ingest(
                [self._event(K.LINK_CLICK, sim, f"buy-click-{n}", self.clock.now())]
            )
            await self.advance_to(when)
            await self.app.purchases.record(
                Purchase(
                    f"demo-order-{session.id}-{n}",
                    self.course_id,
                    self.ids[sim.index],
                    amount,
                    course.currency,
                    self.clock.now(),
                    coupon_code=code,
                )
            )


async def run_demo(options: DemoOptions, progress: Progress | None = None) -> DemoSummary:
    report = progress or (lambda _what, _done: None)
    config = _demo_config(load_config(options.config_path or default_config_path()), options.redis_url)
    course_id = next(iter(config.courses))
    course = config.courses[course_id]
    clock = ManualClock(START)
    messengers = {p: RecordingMessenger(p) for p in (Platform.TELEGRAM, Platform.DISCORD)}
    config_path = options.config_path or default_config_path()
    app = await build_app(
        config, clock=clock, messengers=messengers, scheduler_mode="manual", config_dir=config_path.parent
    )
    try:
        await _clear_demo_keys(app)
        app.engine.sync_jobs()  # the cron and sweep jobs went with the old keys
        sims = draw_learners(options.learners, options.seed, course.class_minutes)
        story = _Story(app, clock, sims, course_id, options.seed)
        report("learners join the course", 0.02)
        await story.join_course()
        first_class: date | None = None
        ended: ClassSession | None = None
        scores_at_end: dict[str, LearnerScore] = {}
        for number in range(options.classes):
            story.sims = in_class(sims, options.seed, number, course.class_minutes)
            step = _class_progress(report, number, options.classes)
            when = "wed" if first_class is None else f"{first_class + timedelta(weeks=number):%Y-%m-%d}"
            title = CLASS_TITLE if number == 0 else f"{CLASS_TITLE}, part {number + 1}"
            reply = await app.teacher.schedule(story.teacher, course_id, f"{when} 18:00 {title}")
            assert reply.ok, reply.text
            session = await app.store.classes.current(course_id)
            assert session is not None
            assert session.scheduled_at is not None
            first_class = first_class or session.scheduled_at.astimezone(course.timezone).date()
            step("reminders go out", 0.02)
            await story.advance_to(session.scheduled_at)
            await app.teacher.live(story.teacher, course_id, "https://www.youtube.com/live/demo-stream")
            await story.advance_to(session.scheduled_at)
            live = await app.store.classes.get(course_id, session.id)
            assert live is not None
            ended = await story.run_class(live, step)
            scores_at_end = await app.store.scores.for_class(course_id, ended.id)
            assert ended.ended_at is not None
            step("follow-ups and coupons", 0.85)
            await story.advance_to(ended.ended_at + timedelta(hours=3))
            step("learners buy", 0.9)
            await story.purchases(ended)
            await story.advance_to(ended.ended_at + timedelta(days=5 if number + 1 < options.classes else 8))
        assert ended is not None
        report("summary", 0.98)
        summary = await summarise(app, ended, sims, story.ids, scores_at_end, options.seed)
        report("done", 1.0)
        return summary
    finally:
        await app.close()


def _class_progress(report: Progress, number: int, classes: int) -> Progress:
    """Progress within one class of the series, as a share of the whole demo."""
    low, high = number / classes, (number + 1) / classes

    def step(what: str, done: float) -> None:
        label = f"class {number + 1}/{classes}: {what}" if classes > 1 else what
        report(label, 0.05 + 0.9 * (low + (high - low) * done))

    return step


async def _clear_demo_keys(app: App) -> None:
    """Forget a previous demo run on the same Redis: only keys under the demo's own prefix."""
    client = app.store.client
    doomed = [key async for key in client.scan_iter(match=f"{DEMO_PREFIX}:*", count=1000)]
    for start in range(0, len(doomed), 500):
        await client.delete(*doomed[start : start + 500])


__all__ = ["DemoOptions", "default_config_path", "run_demo"]
