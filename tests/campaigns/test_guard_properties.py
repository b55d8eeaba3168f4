"""Random campaigns, learners and histories: the guards hold whatever the configuration.

Caps are never exceeded, quiet hours never broken, holdout learners never messaged, opted-out learners never
promoted, and each (learner, step, occurrence) sent at most once even when every step fires again.
"""

from __future__ import annotations

import asyncio
import itertools
import tomllib
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.console import RecordingMessenger
from bot.app import App, build_app
from bot.clock import ManualClock
from bot.config import Config, parse_config
from bot.config.campaigns import CLASS_TRIGGERS
from bot.domain import Delivery, Identity, Interaction, InteractionKind, OutboundMessage, Platform
from bot.simulated_time import advance
from bot.usecases.replies import Actor
from campaigns import jobs
from campaigns.dispatcher import Dispatcher
from campaigns.experiments import HOLDOUT, arm
from campaigns.guards import Guards, in_quiet_hours
from tests.core.conftest import EXAMPLE, TEACHER

K = InteractionKind
CLASS_AT = datetime(2026, 11, 4, 18, 0, tzinfo=UTC)
ZONES = ["Europe/London", "Asia/Shanghai", "America/Los_Angeles"]


TICKS = itertools.count()  # the order of everything that happens, sends and opt-outs alike


class TimedMessenger(RecordingMessenger):
    def __init__(self, platform: Platform, clock: ManualClock) -> None:
        super().__init__(platform)
        self.clock = clock
        self.times: list[tuple[datetime, int]] = []

    async def send(self, message: OutboundMessage) -> Delivery:
        self.times.append((self.clock.now(), next(TICKS)))
        return await super().send(message)


step_strategy = st.fixed_dictionaries(
    {
        "trigger": st.sampled_from(["before_class", "class_started", "class_ended", "entered_segment"]),
        "offset": st.sampled_from(["0s", "10m", "1h", "3h", "9h", "1d"]),
        "audience": st.sampled_from(["everyone", "attended", "no_show", "hot", "warm", "cold"]),
        "promotional": st.booleans(),
        "allow_during_live": st.booleans(),
        "coupon": st.sampled_from(["", "hot-48h", "warm-7d"]),
        "holdout": st.sampled_from([0.0, 0.0, 0.3, 0.6]),
        "variants": st.sampled_from([0, 2]),
    }
)
person_strategy = st.fixed_dictionaries(
    {
        "platform": st.sampled_from([Platform.TELEGRAM, Platform.DISCORD]),
        "zone": st.sampled_from(["", *ZONES]),
        "opt_out": st.sampled_from([None, None, "before_live", "after_end"]),
        "watch": st.integers(0, 60),
        "questions": st.integers(0, 4),
    }
)
guard_strategy = st.fixed_dictionaries(
    {
        "daily_cap": st.integers(1, 3),
        "extra_weekly": st.integers(0, 3),
        "quiet_start": st.sampled_from(["20:00", "21:00", "23:00", "13:00"]),
        "quiet_end": st.sampled_from(["07:00", "08:00", "15:00"]),
    }
)


def config_with(steps: list[dict[str, Any]], guards: dict[str, Any]) -> Config:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    rendered = []
    for i, step in enumerate(steps):
        item = {k: v for k, v in step.items() if k not in ("variants",)}
        item.update(id=f"s{i}", text="Hi {{ name }} {{ coupon }}")
        if step["trigger"] == "entered_segment":
            item["segment"] = step["audience"] if step["audience"] in ("hot", "warm", "cold") else "hot"
            item["audience"] = "everyone"
        if step["variants"]:
            item["variants"] = [{"id": "a"}, {"id": "b", "text": "Hello {{ name }}"}]
        rendered.append(item)
    data["campaigns"] = [{"id": "random", "course": "python101", "steps": rendered}]
    data["guards"] = {
        "daily_cap": guards["daily_cap"],
        "weekly_cap": guards["daily_cap"] + guards["extra_weekly"],
        "quiet_hours": {"start": guards["quiet_start"], "end": guards["quiet_end"]},
    }
    if guards["quiet_start"] == guards["quiet_end"]:
        data["guards"]["quiet_hours"]["enabled"] = False
    return parse_config(data)


async def story(
    app: App, clock: ManualClock, people: list[dict[str, Any]]
) -> tuple[list[str], dict[str, int]]:
    ids: list[str] = []
    opted_out_at: dict[str, int] = {}
    for n, person in enumerate(people):
        who = Identity(person["platform"], str(1000 + n))
        await app.learner.start(who, f"start-{n}", course_id="python101")
        ids.append(await app.store.learners.resolve(who))
        if person["zone"]:
            await app.store.learners.set_timezone(ids[-1], person["zone"])

    async def opt_out(stage: str) -> None:
        for person, learner_id in zip(people, ids, strict=True):
            if person["opt_out"] == stage:
                who = Identity(person["platform"], learner_id.split("-", 1)[1])
                await app.learner.stop(who, f"stop-{learner_id}", course_id="python101")
                opted_out_at[learner_id] = next(TICKS)

    teacher = Actor(TEACHER)
    assert (await app.teacher.schedule(teacher, "python101", "wed 18:00 Random")).ok
    await advance(app, clock, CLASS_AT - timedelta(hours=2))
    await opt_out("before_live")
    await advance(app, clock, CLASS_AT)
    assert (await app.teacher.live(teacher, "python101", "https://youtube.com/live/x")).ok
    session = await app.store.classes.current("python101")
    assert session is not None
    events = []
    for person, learner_id in zip(people, ids, strict=True):
        events += [
            Interaction(
                K.WATCH_HEARTBEAT,
                Platform.WEB,
                f"hb-{learner_id}-{m}",
                "python101",
                learner_id,
                CLASS_AT + timedelta(minutes=m),
                class_id=session.id,
                payload={"seconds": 60},
            )
            for m in range(person["watch"])
        ]
        events += [
            Interaction(
                K.QUESTION,
                Platform.TELEGRAM,
                f"q-{learner_id}-{q}",
                "python101",
                learner_id,
                CLASS_AT,
                class_id=session.id,
            )
            for q in range(person["questions"])
        ]
    await app.store.intake.ingest(events)
    await advance(app, clock, CLASS_AT + timedelta(minutes=30))
    await app.rescorer.rescore(session)  # a /stats during the class: an entered_segment evaluation point
    await advance(app, clock, CLASS_AT + timedelta(minutes=60))
    assert (await app.teacher.end(teacher, "python101")).ok
    await advance(app, clock, CLASS_AT + timedelta(hours=2))
    await opt_out("after_end")
    await advance(app, clock, CLASS_AT + timedelta(days=2))
    # Every class step fires again, as a second scheduler or a retried job would.
    for step in app.config.campaigns[0].steps:
        if step.trigger in CLASS_TRIGGERS:
            await jobs.run_step("cp", "python101", session.id, "random", step.id)
    await app.dispatcher.drain()
    await advance(app, clock, CLASS_AT + timedelta(days=4))
    return ids, opted_out_at


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(step_strategy, min_size=1, max_size=6),
    people=st.lists(person_strategy, min_size=1, max_size=5),
    guards=guard_strategy,
)
async def test_caps_quiet_hours_holdouts_and_opt_outs_hold_for_any_campaign(
    redis_url: str, steps: list[dict[str, Any]], people: list[dict[str, Any]], guards: dict[str, Any]
) -> None:
    config = config_with(steps, guards)
    clock = ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    messengers = {p: TimedMessenger(p, clock) for p in (Platform.TELEGRAM, Platform.DISCORD)}
    app = await build_app(
        config, clock=clock, messengers=dict(messengers), redis_url=redis_url, scheduler_mode="manual"
    )
    await app.store.client.flushdb()
    app.engine.sync_jobs()
    try:
        ids, opted_out_at = await story(app, clock, people)
    finally:
        await app.close()

    zones = {lid: ZoneInfo(p["zone"] or "Europe/London") for p, lid in zip(people, ids, strict=True)}
    quiet = config.guards.quiet_hours
    per_day: Counter[tuple[str, str]] = Counter()
    per_week: Counter[tuple[str, tuple[int, int]]] = Counter()
    seen: Counter[str] = Counter()
    for messenger in messengers.values():
        for sent, (at, tick) in zip(messenger.sent, messenger.times, strict=True):
            m = sent.message
            if not m.learner_id:
                continue
            seen[m.key] += 1
            local = at.astimezone(zones[m.learner_id])
            step = config.step(m.campaign_id, m.step_id)
            assert arm("random", step, m.learner_id) != HOLDOUT, "a holdout learner got the step"
            if m.learner_id in opted_out_at:
                assert tick < opted_out_at[m.learner_id], "a message reached a learner after they opted out"
            if m.promotional:
                assert not (quiet.enabled and in_quiet_hours(quiet, local)), (
                    f"promotion in quiet hours {local}"
                )
                per_day[(m.learner_id, f"{local:%Y-%m-%d}")] += 1
                per_week[(m.learner_id, local.isocalendar()[:2])] += 1
    assert all(n == 1 for n in seen.values()), seen
    assert all(n <= config.guards.daily_cap for n in per_day.values()), per_day
    assert all(n <= config.guards.weekly_cap for n in per_week.values()), per_week


async def test_two_dispatchers_racing_never_exceed_a_learners_daily_cap(
    app: App, clock: ManualClock, redis_url: str
) -> None:
    """The cap is counted atomically at claim time: two dispatchers cannot both take the last place."""
    config = app.config.model_copy(
        update={"guards": app.config.guards.model_copy(update={"daily_cap": 2, "weekly_cap": 5})}
    )
    clock.set(datetime(2026, 11, 2, 12, 0, tzinfo=UTC))  # noon in London: no quiet hours
    [learner] = [await app.store.learners.resolve(Identity(Platform.TELEGRAM, "1"))]
    await app.store.learners.mark_reachable(learner, Platform.TELEGRAM)
    offers = [
        OutboundMessage(
            f"random:s{n}:c1:{learner}",
            Platform.TELEGRAM,
            "1",
            f"offer {n}",
            learner_id=learner,
            course_id="python101",
            campaign_id="random",
            step_id=f"s{n}",
            promotional=True,
        )
        for n in range(12)
    ]
    await app.store.outbox.enqueue(offers, clock.now())
    sent: list[RecordingMessenger] = []
    dispatchers = []
    for name in ("d1", "d2"):
        messenger = RecordingMessenger(Platform.TELEGRAM)
        sent.append(messenger)
        dispatchers.append(
            Dispatcher(
                app.store.outbox,
                app.store.learners,
                app.store.activity,
                {Platform.TELEGRAM: messenger},
                clock,
                consumer=name,
                guards=Guards(config),
                classes=app.store.classes,
                concurrency=4,
            )
        )
    # Each reads its own share of the stream; both claim at the same time.
    first = await app.store.outbox.read("d1", 6)
    second = await app.store.outbox.read("d2", 6)
    await asyncio.gather(dispatchers[0]._handle_all(first), dispatchers[1]._handle_all(second))
    assert sum(len(m.sent) for m in sent) == 2
    stats = await app.store.outbox.stats()
    assert sum(n for (_, _, status), n in stats.items() if status == "capped") == 10


def test_quiet_hours_wrap_around_midnight() -> None:
    from bot.config.campaigns import QuietHoursConfig

    night = QuietHoursConfig(start=time(21, 0), end=time(8, 0))
    london = ZoneInfo("Europe/London")
    assert in_quiet_hours(night, datetime(2026, 11, 4, 23, 30, tzinfo=london))
    assert in_quiet_hours(night, datetime(2026, 11, 4, 7, 59, tzinfo=london))
    assert not in_quiet_hours(night, datetime(2026, 11, 4, 8, 0, tzinfo=london))
    lunch = QuietHoursConfig(start=time(12, 0), end=time(13, 0))
    assert in_quiet_hours(lunch, datetime(2026, 11, 4, 12, 30, tzinfo=london))
    assert not in_quiet_hours(lunch, datetime(2026, 11, 4, 23, 0, tzinfo=london))
