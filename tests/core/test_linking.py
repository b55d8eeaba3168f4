"""Linking accounts: after /link, a Telegram and a Discord identity are one learner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.console import RecordingMessenger
from bot import formatting
from bot.app import App
from bot.clock import ManualClock
from bot.domain import Identity, Interaction, InteractionKind, Platform
from bot.simulated_time import advance
from bot.usecases.replies import Actor
from campaigns.coupons import issue_coupon
from tests.core.conftest import TEACHER

tg = Identity(Platform.TELEGRAM, "7")
dc = Identity(Platform.DISCORD, "900")
CLASS_AT = datetime(2026, 11, 4, 18, 0, tzinfo=UTC)


def code_in(reply_text: str) -> str:
    return formatting.plain(reply_text).split("Your link code: ")[1].split(".")[0]


async def link(app: App) -> None:
    code = code_in((await app.linking.request(tg)).text)
    reply = await app.linking.confirm(dc, code.lower())  # codes are not case-sensitive
    assert reply.ok, reply.text


async def test_a_link_code_works_once_only_from_the_other_platform(app: App, clock: ManualClock) -> None:
    code = code_in((await app.linking.request(tg)).text)
    same = await app.linking.confirm(Identity(Platform.TELEGRAM, "8"), code)
    assert (same.ok, same.text) == (False, "Send the code from your account on the other platform.")
    assert (await app.linking.confirm(dc, code)).ok is False  # the failed try used it up
    fresh = code_in((await app.linking.request(tg)).text)
    assert (await app.linking.confirm(dc, fresh)).ok
    assert (await app.linking.confirm(dc, fresh)).text.startswith("That code is unknown or has expired")
    bad = await app.linking.confirm(dc, "ABC")
    assert bad.text.startswith("A link code has 8 letters and digits")


async def test_linking_merges_both_histories_into_one_learner(app: App, clock: ManualClock) -> None:
    await app.learner.start(tg, "s1", name="Ada", course_id="python101")
    await app.learner.start(dc, "s2", name="ada#1", course_id="python101")
    assert (await app.teacher.live(Actor(TEACHER), "python101", "https://youtube.com/live/x")).ok  # class c1
    k = InteractionKind
    await app.store.intake.ingest(
        [
            Interaction(k.MESSAGE, Platform.TELEGRAM, "m1", "python101", "tg-7", clock.now(), class_id="c1"),
            Interaction(
                k.MESSAGE,
                Platform.DISCORD,
                "m2",
                "python101",
                "dc-900",
                clock.now() + timedelta(minutes=1),
                class_id="c1",
            ),
            Interaction(
                k.QUESTION, Platform.DISCORD, "q1", "python101", "dc-900", clock.now(), class_id="c1"
            ),
        ]
    )
    coupon = await issue_coupon(
        app.store.coupons,
        "warm-7d",
        app.config.coupons["warm-7d"],
        "python101",
        app.config.courses["python101"],
        "dc-900",
        "k1",
        clock.now(),
    )
    await app.learner.stop(dc, "stop-1")
    await link(app)

    assert await app.store.learners.resolve(dc) == "tg-7"
    learner = await app.store.learners.get("tg-7")
    assert learner is not None
    assert {i.key for i in learner.identities} == {"telegram:7", "discord:900"}
    assert learner.opted_out  # one of the accounts had opted out: the safe side wins
    assert learner.aliases == ("dc-900",)
    assert await app.store.learners.get("dc-900") is None
    totals = await app.store.client.hgetall(app.store.keys.learner_totals("python101", "tg-7"))
    assert (totals["message"], totals["question"], totals["last_platform"]) == ("2", "1", "discord")
    per_class = await app.store.client.hgetall(app.store.keys.learner_class("python101", "c1", "tg-7"))
    assert (per_class["message"], per_class["question"]) == ("2", "1")
    assert await app.store.activity.class_attendees("python101", "c1") == {"tg-7"}
    assert await app.store.activity.course_learners("python101") == ["tg-7"]
    assert [c.code for c in await app.store.coupons.for_learner("tg-7")] == [coupon.code]


async def test_a_linked_learner_gets_one_follow_up_not_two(
    app: App, clock: ManualClock, messengers: dict[Platform, RecordingMessenger]
) -> None:
    await app.learner.start(tg, "s1", name="Ada", course_id="python101")
    await app.learner.start(dc, "s2", name="Ada", course_id="python101")
    teacher = Actor(TEACHER)
    await app.teacher.schedule(teacher, "python101", "wed 18:00 Decorators")
    await advance(app, clock, CLASS_AT - timedelta(hours=2))  # remind-24h went to both accounts
    await link(app)
    await advance(app, clock, CLASS_AT - timedelta(minutes=30))  # remind-1h: one learner now
    steps = [s.message.step_id for m in messengers.values() for s in m.sent if s.message.private]
    assert sorted(steps) == ["remind-1h", "remind-24h", "remind-24h"]
    # And a step that already reached the absorbed account is not sent again to the kept one.
    await app.runner.run("python101", "c1", "python101-live", "remind-24h")
    await app.dispatcher.drain()
    assert sum(1 for m in messengers.values() for s in m.sent if s.message.step_id == "remind-24h") == 2
