"""Campaigns v1: reminders, live message, follow-ups per segment; the outbox sends each message once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any, cast

import pytest

from adapters.console import RecordingMessenger
from bot.app import App, build_app
from bot.clock import ManualClock, SystemClock
from bot.config import Config
from bot.domain import (
    ClassSession,
    ClassState,
    Delivery,
    Identity,
    InteractionKind,
    OutboundMessage,
    Platform,
    Purchase,
)
from bot.ports import Activity
from bot.simulated_time import advance
from bot.usecases.replies import Actor
from campaigns import jobs
from campaigns.dispatcher import Dispatcher
from campaigns.planner import PlannedStep
from tests.core.conftest import CLASS_AT, TEACHER, enrol, run_class

K = InteractionKind
teacher = Actor(TEACHER)


def steps_to(messenger: RecordingMessenger, chat_id: str) -> list[str]:
    return [s.message.step_id for s in messenger.to_chat(chat_id)]


async def schedule(app: App) -> str:
    reply = await app.teacher.schedule(teacher, "python101", "wed 18:00 Decorators")
    assert reply.ok, reply.text
    session = await app.store.classes.current("python101")
    assert session is not None
    return session.id


async def test_reminders_are_planned_at_their_offsets_before_the_class(app: App) -> None:
    await schedule(app)
    planned = {
        job.id.split(":")[-1]: job.next_run_time
        for job in app.scheduler.jobs()
        if job.id.startswith("python101:")  # the class's jobs, not the sweep or cron jobs
    }
    assert planned == {
        "remind-24h": CLASS_AT - timedelta(hours=24),
        "remind-1h": CLASS_AT - timedelta(hours=1),
        "remind-10m": CLASS_AT - timedelta(minutes=10),
    }


async def test_the_whole_loop_reminds_goes_live_scores_and_follows_up(
    app: App, clock: ManualClock, messengers: dict[Platform, RecordingMessenger]
) -> None:
    hot, warm, _no_show = await enrol(app, Platform.TELEGRAM, ["1", "2", "3"])
    await schedule(app)
    await run_class(app, clock, {hot: 58, warm: 35}, question={hot: 3}, offer_click={hot: 1})
    await advance(app, clock, CLASS_AT + timedelta(hours=4))
    tg = messengers[Platform.TELEGRAM]
    assert steps_to(tg, "1") == ["remind-24h", "remind-1h", "we-are-live", "hot-offer"]
    # The warm offer falls due at 21:00, in the learner's quiet hours: it waits for the morning.
    assert steps_to(tg, "2") == ["remind-24h", "remind-1h", "we-are-live"]
    await advance(app, clock, CLASS_AT + timedelta(hours=13, minutes=59))
    assert steps_to(tg, "2") == ["remind-24h", "remind-1h", "we-are-live"]
    await advance(app, clock, CLASS_AT + timedelta(hours=14))  # 08:00 in London
    assert steps_to(tg, "2") == ["remind-24h", "remind-1h", "we-are-live", "warm-offer"]
    assert steps_to(tg, "3") == ["remind-24h", "remind-1h", "we-are-live", "no-show-replay"]
    # The group steps go to the course chats: Monday's 10:00 note (recurring), the 10-minute reminder.
    # The course chats: the group steps, and the teacher's /live announcement, pinned.
    assert steps_to(tg, "-1001234567890") == ["weekly-note", "remind-10m", "announcement"]
    assert steps_to(messengers[Platform.DISCORD], "112233445566778899") == [
        "weekly-note",
        "remind-10m",
        "announcement",
    ]
    assert all(s.message.pin for s in tg.to_chat("-1001234567890") if s.message.step_id == "announcement")
    [offer] = [s for s in tg.to_chat("1") if s.message.step_id == "hot-offer"]
    [coupon] = await app.store.coupons.for_learner(hot)
    assert offer.message.coupon_code == coupon.code
    assert f"<code>{coupon.code}</code>" in offer.rendered
    assert "20% off" in offer.rendered


async def test_running_the_same_schedule_twice_sends_nothing_twice(
    app: App, clock: ManualClock, messengers: dict[Platform, RecordingMessenger]
) -> None:
    hot = (await enrol(app, Platform.TELEGRAM, ["1"]))[0]
    class_id = await schedule(app)
    await run_class(app, clock, {hot: 60}, question={hot: 3})
    await advance(app, clock, CLASS_AT + timedelta(hours=4))
    sent = len(messengers[Platform.TELEGRAM].sent)
    coupons = await app.store.coupons.for_learner(hot)
    # The scheduler fires every step again, as a second scheduler or a retried job would.
    for campaign in app.config.campaigns:
        for step in campaign.steps:
            await jobs.run_step("cp", "python101", class_id, campaign.id, step.id)
    await app.dispatcher.drain()
    assert len(messengers[Platform.TELEGRAM].sent) == sent
    assert await app.store.coupons.for_learner(hot) == coupons


async def test_a_restart_between_scheduling_and_firing_fires_each_reminder_exactly_once(
    config: Config, clock: ManualClock, redis_url: str
) -> None:
    first = await build_app(config, clock=clock, redis_url=redis_url, scheduler_mode="manual")
    await enrol(first, Platform.TELEGRAM, ["1"])
    await schedule(first)
    await first.close()  # the process stops before any reminder is due

    for _restart in range(2):
        messenger = RecordingMessenger(Platform.TELEGRAM)
        again = await build_app(
            config,
            clock=clock,
            redis_url=redis_url,
            scheduler_mode="manual",
            messengers={Platform.TELEGRAM: messenger},
        )
        await advance(again, clock, CLASS_AT - timedelta(minutes=30))
        await again.close()
        if _restart == 0:
            assert steps_to(messenger, "1") == ["remind-24h", "remind-1h"]
        else:
            assert messenger.sent == []  # nothing fires twice after a second restart


async def test_the_live_scheduler_fires_a_stored_job_on_the_wall_clock_after_a_restart(
    config: Config, redis_url: str
) -> None:
    clock = SystemClock()
    first = await build_app(config, clock=clock, redis_url=redis_url)
    learner = (await enrol(first, Platform.TELEGRAM, ["1"]))[0]
    class_id = await first.store.classes.new_id("python101")
    await first.store.classes.save(
        ClassSession(
            class_id, "python101", "Soon", ClassState.SCHEDULED, scheduled_at=clock.now() + timedelta(hours=1)
        )
    )
    first.scheduler.add(
        PlannedStep(
            "python101:soon",
            clock.now() + timedelta(seconds=1),
            "python101",
            class_id,
            "python101-live",
            "remind-1h",
            timedelta(minutes=5),
        )
    )
    await first.close()

    messenger = RecordingMessenger(Platform.TELEGRAM)
    second = await build_app(
        config, clock=clock, redis_url=redis_url, messengers={Platform.TELEGRAM: messenger}
    )
    try:
        for _ in range(100):
            await asyncio.sleep(0.05)
            await second.dispatcher.drain()
            if messenger.sent:
                break
        await asyncio.sleep(0.3)
        await second.dispatcher.drain()
        assert [s.message.learner_id for s in messenger.sent] == [learner]
        assert [j.id for j in second.scheduler.jobs() if j.id.startswith("python101:")] == []
    finally:
        await second.close()


async def test_buyers_get_reminders_but_no_promotional_offer(
    app: App, clock: ManualClock, messengers: dict[Platform, RecordingMessenger]
) -> None:
    buyer = (await enrol(app, Platform.TELEGRAM, ["1"]))[0]
    await app.purchases.record(Purchase("o-1", "python101", buyer, 199, "USD", clock.now()))
    await schedule(app)
    await run_class(app, clock, {buyer: 60}, question={buyer: 5}, offer_click={buyer: 1})
    await advance(app, clock, CLASS_AT + timedelta(hours=4))
    assert steps_to(messengers[Platform.TELEGRAM], "1") == ["remind-24h", "remind-1h", "we-are-live"]
    assert await app.store.coupons.for_learner(buyer) == []


async def test_an_opt_out_between_queueing_and_sending_is_honoured(
    app: App, clock: ManualClock, messengers: dict[Platform, RecordingMessenger]
) -> None:
    learner = (await enrol(app, Platform.TELEGRAM, ["1"]))[0]
    await schedule(app)
    clock.set(CLASS_AT - timedelta(hours=24))
    await app.scheduler.run_due(clock.now())  # queued, not yet sent
    await app.learner.stop(Identity(Platform.TELEGRAM, "1"), "stop-1", course_id="python101")
    await app.dispatcher.drain()
    assert messengers[Platform.TELEGRAM].to_chat("1") == []
    state = await app.store.outbox.state(f"python101-live:remind-24h:c1:{learner}")
    assert (state["status"], state["reason"]) == ("suppressed", "opted out")


async def test_a_learner_who_blocked_the_bot_is_marked_unreachable_and_not_tried_again(
    app: App, clock: ManualClock, messengers: dict[Platform, RecordingMessenger]
) -> None:
    learner = (await enrol(app, Platform.TELEGRAM, ["1"]))[0]
    messengers[Platform.TELEGRAM].unreachable_chats.add("1")
    await schedule(app)
    await advance(app, clock, CLASS_AT - timedelta(minutes=30))
    profile = await app.store.learners.get(learner)
    assert profile is not None
    assert Platform.TELEGRAM in profile.unreachable
    stats = await app.store.outbox.stats()
    assert stats[("python101-live", "remind-24h", "unreachable")] == 1
    assert stats[("python101-live", "remind-1h", "skipped: no way to reach privately")] == 1


class Flaky:
    """A platform that answers 'rate limited' a given number of times, then delivers."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[datetime] = []
        self.delivered: list[OutboundMessage] = []
        self.clock: ManualClock | None = None

    @property
    def platform(self) -> Platform:
        return Platform.TELEGRAM

    async def send(self, message: OutboundMessage) -> Delivery:
        assert self.clock is not None
        self.calls.append(self.clock.now())
        if len(self.calls) <= self.failures:
            return Delivery.retry("429 Too Many Requests", after=30)
        self.delivered.append(message)
        return Delivery.delivered("m1")


@pytest.mark.parametrize(("failures", "delivered"), [(2, 1), (10, 0)])
async def test_rate_limited_sends_are_retried_after_the_wait_then_dead_lettered(
    app: App, clock: ManualClock, failures: int, delivered: int
) -> None:
    flaky = Flaky(failures)
    flaky.clock = clock
    app.dispatcher.messengers = {Platform.TELEGRAM: flaky}
    message = OutboundMessage("k1", Platform.TELEGRAM, "1", "hi", course_id="python101")
    await app.store.outbox.enqueue([message], clock.now())
    for _ in range(8):
        await app.dispatcher.drain()
        clock.advance(timedelta(minutes=5))
    assert len(flaky.delivered) == delivered
    gaps = [b - a for a, b in zip(flaky.calls, flaky.calls[1:], strict=False)]
    assert all(gap >= timedelta(seconds=30) for gap in gaps)  # retry_after is honoured
    if not delivered:
        [(dead, reason)] = await app.store.outbox.dead_letters()
        assert dead.key == "k1"
        assert reason == "gave up after 5 attempts: 429 Too Many Requests"


async def test_a_dispatcher_that_died_mid_send_never_causes_a_second_send(
    app: App, clock: ManualClock, messengers: dict[Platform, RecordingMessenger]
) -> None:
    message = OutboundMessage("k1", Platform.TELEGRAM, "1", "hi", course_id="python101")
    await app.store.outbox.enqueue([message], clock.now())
    [envelope] = await app.store.outbox.read("dead-dispatcher", 10)
    assert await app.store.outbox.claim("k1", "dead-dispatcher", clock.now()) == "ok"
    # ...and that dispatcher dies here, maybe after the platform accepted the message.
    [taken_over] = await app.store.outbox.reclaim("dispatcher-1", 0, 10)
    assert taken_over.message == envelope.message
    await app.dispatcher._handle(taken_over, set())
    assert messengers[Platform.TELEGRAM].sent == []
    [(_, reason)] = await app.store.outbox.dead_letters()
    assert reason == "outcome unknown: a dispatcher stopped while sending"


async def test_the_learner_language_picks_the_template(
    app: App, clock: ManualClock, messengers: dict[Platform, RecordingMessenger]
) -> None:
    who = Identity(Platform.TELEGRAM, "1")
    await app.learner.start(who, "s1", name="小明", language="zh-hans", course_id="python101")
    await schedule(app)
    await advance(app, clock, CLASS_AT - timedelta(hours=23))
    [reminder] = messengers[Platform.TELEGRAM].to_chat("1")
    assert reminder.rendered.startswith(
        "明天 Wed 04 Nov 18:00 (Europe/London)：Python 101 直播课《Decorators》。小明"
    )


async def test_user_supplied_values_are_escaped_for_each_platform(
    app: App, clock: ManualClock, messengers: dict[Platform, RecordingMessenger]
) -> None:
    await enrol(app, Platform.TELEGRAM, ["1"], name="<b>Bob & Co</b>")
    await enrol(app, Platform.DISCORD, ["2"], name="**Eve** @everyone")
    await schedule(app)
    await advance(app, clock, CLASS_AT - timedelta(hours=23))
    [tg] = messengers[Platform.TELEGRAM].to_chat("1")
    assert "&lt;b&gt;Bob &amp; Co&lt;/b&gt;!" in tg.rendered
    assert "<b>Decorators</b>" in tg.rendered  # the template's own formatting survives
    [dc] = messengers[Platform.DISCORD].to_chat("2")
    assert "\\*\\*Eve\\*\\* @\u200beveryone" in dc.rendered
    assert "**Decorators**" in dc.rendered


async def test_a_reminder_whose_time_has_long_passed_is_not_sent_late(
    app: App, clock: ManualClock, messengers: dict[Platform, RecordingMessenger]
) -> None:
    await enrol(app, Platform.TELEGRAM, ["1"])
    await schedule(app)
    clock.set(CLASS_AT - timedelta(minutes=20))  # the process was down for a day
    await app.scheduler.run_due(clock.now())
    await app.dispatcher.drain()
    assert steps_to(messengers[Platform.TELEGRAM], "1") == []
    assert app.scheduler.jobs()[0].id.endswith("remind-10m")


async def test_a_step_that_allows_it_mentions_unreachable_learners_in_the_course_chat(
    config: Config, clock: ManualClock, redis_url: str
) -> None:
    steps = config.campaigns[0].steps
    fallback_steps = [
        s.model_copy(update={"fallback_to_group": True}) if s.id == "remind-24h" else s for s in steps
    ]
    campaign = config.campaigns[0].model_copy(update={"steps": fallback_steps})
    config = config.model_copy(update={"campaigns": [campaign]})
    tg = RecordingMessenger(Platform.TELEGRAM, unreachable_chats={"2"})
    app = await build_app(
        config, clock=clock, redis_url=redis_url, scheduler_mode="manual", messengers={Platform.TELEGRAM: tg}
    )
    try:
        await enrol(app, Platform.TELEGRAM, ["1"], start=False, name="Never Started")  # never opened the bot
        await enrol(app, Platform.TELEGRAM, ["2"], name="Blocked Us")  # started, then blocked the bot
        await schedule(app)
        await advance(app, clock, CLASS_AT - timedelta(hours=23))
    finally:
        await app.close()
    group = tg.to_chat("-1001234567890")
    assert sorted(s.rendered.split(",")[0] for s in group) == [
        '<a href="tg://user?id=1">Never Started</a>',
        '<a href="tg://user?id=2">Blocked Us</a>',
    ]
    assert all(s.message.buttons[0].callback == "start:python101:c1" for s in group)
    assert all("PY-" not in s.rendered for s in group)  # nothing personal in the group


async def test_a_batch_of_promotions_reads_each_courses_buyers_once_and_skips_them(
    app: App, clock: ManualClock
) -> None:
    ids = await enrol(app, Platform.TELEGRAM, [str(n) for n in range(40)])
    await app.store.activity.mark_buyer("python101", ids[0])
    reads: list[str] = []

    class CountedActivity:
        def __getattr__(self, name: str) -> Any:
            return getattr(app.store.activity, name)

        async def buyers(self, course_id: str) -> set[str]:
            reads.append(course_id)
            return await app.store.activity.buyers(course_id)

    dispatcher = Dispatcher(
        app.store.outbox,
        app.store.learners,
        cast(Activity, CountedActivity()),
        {Platform.TELEGRAM: RecordingMessenger(Platform.TELEGRAM)},
        clock,
        consumer="batch",
    )
    offers = [
        OutboundMessage(
            f"offer:{lid}",
            Platform.TELEGRAM,
            lid.removeprefix("tg-"),
            "20% off",
            private=True,
            course_id="python101",
            learner_id=lid,
            campaign_id="promo",
            step_id="s",
            promotional=True,
        )
        for lid in ids
    ]
    await app.store.outbox.enqueue(offers, clock.now())

    await dispatcher.drain()

    assert reads == ["python101"]
    assert dispatcher.outcomes["delivered"] == 39
    assert dispatcher.outcomes["suppressed"] == 1  # the buyer
