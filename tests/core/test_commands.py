"""Teacher and learner commands, as every platform runs them: parsing, permissions, answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import formatting
from bot.app import App
from bot.clock import ManualClock
from bot.domain import Identity, Interaction, InteractionKind, Platform
from bot.usecases.parsing import UsageError, parse_schedule
from bot.usecases.replies import Actor, answer
from tests.core.conftest import TEACHER, enrol

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # Monday 09:00 in London
teacher = Actor(TEACHER)
stranger = Actor(Identity(Platform.TELEGRAM, "999"))


@pytest.mark.parametrize(
    ("args", "when", "title"),
    [
        ("tomorrow 19:00 Decorators", datetime(2026, 11, 3, 19, 0, tzinfo=LONDON), "Decorators"),
        ("today 18:30 Async I/O", datetime(2026, 11, 2, 18, 30, tzinfo=LONDON), "Async I/O"),
        ("fri 18:00 Typing", datetime(2026, 11, 6, 18, 0, tzinfo=LONDON), "Typing"),
        ("mon 08:00 Next week", datetime(2026, 11, 9, 8, 0, tzinfo=LONDON), "Next week"),
        ("2026-11-24 19:00 Exam prep", datetime(2026, 11, 24, 19, 0, tzinfo=LONDON), "Exam prep"),
        ("08:30 Tomorrow morning", datetime(2026, 11, 3, 8, 30, tzinfo=LONDON), "Tomorrow morning"),
        ("in 2h Quick one", NOW + timedelta(hours=2), "Quick one"),
        ("+1h30m Soon", NOW + timedelta(hours=1, minutes=30), "Soon"),
    ],
)
def test_schedule_understands_the_usual_ways_of_saying_when(args: str, when: datetime, title: str) -> None:
    assert parse_schedule(args, LONDON, NOW) == (when, title)


@pytest.mark.parametrize(
    ("args", "detail"),
    [
        ("", "Say when the class starts and what it is called."),
        ("tomorrow 19:00", "The class needs a title after the time."),
        ("someday Decorators", "I cannot read 'someday Decorators' as a time."),
        ("2026-01-01 10:00 Old", "Thu 01 Jan 10:00 has already passed."),
    ],
)
def test_schedule_answers_bad_arguments_with_usage_help(args: str, detail: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_schedule(args, LONDON, NOW)
    help_text = caught.value.help_text("/")
    assert help_text.splitlines()[:3] == [
        detail,
        "Usage: /schedule <when> <title>",
        "Example: /schedule tomorrow 19:00 Decorators in depth",
    ]


async def test_a_non_teacher_is_refused_politely(app: App) -> None:
    for call in (
        app.teacher.schedule(stranger, "python101", "tomorrow 19:00 X"),
        app.teacher.live(stranger, "python101", "https://youtube.com/live/x"),
        app.teacher.end(stranger, "python101"),
        app.teacher.hot(stranger, "python101"),
        app.teacher.stats(stranger, "python101"),
    ):
        reply = await answer(call)
        assert not reply.ok
        assert reply.text == "Sorry, only the teachers of Python 101 can do that."
    assert await app.store.classes.current("python101") is None


async def test_a_group_admin_counts_as_teacher_when_the_adapter_says_so(app: App) -> None:
    admin = Actor(Identity(Platform.TELEGRAM, "555"), admin_teacher=True)
    assert (await answer(app.teacher.schedule(admin, "python101", "tomorrow 19:00 X"))).ok


async def test_bad_teacher_arguments_get_usage_help_in_the_platform_syntax(app: App) -> None:
    reply = await answer(app.teacher.live(teacher, "python101", "youtube.com/live/x"), prefix="/class ")
    assert not reply.ok
    assert reply.text.splitlines()[:2] == [
        "'youtube.com/live/x' is not a web address (it must start with https://).",
        "Usage: /class live <stream url> [title]",
    ]
    reply = await answer(app.teacher.hot(teacher, "python101", "500"))
    assert reply.text.startswith("'500' is not a number from 1 to 50.")


async def test_ending_when_nothing_is_live_is_refused(app: App) -> None:
    reply = await answer(app.teacher.end(teacher, "python101"))
    assert (reply.ok, reply.text) == (False, "No class of this course is live right now.")


async def test_hot_lists_learners_with_reasons_privately(app: App, clock: ManualClock) -> None:
    eager, quiet = await enrol(app, Platform.TELEGRAM, ["1", "2"])
    await app.teacher.live(teacher, "python101", "https://youtube.com/live/x Decorators")
    session = await app.store.classes.current("python101")
    assert session is not None
    k = InteractionKind
    await app.store.intake.ingest(
        [
            Interaction(
                k.WATCH_HEARTBEAT,
                Platform.WEB,
                f"hb{m}",
                "python101",
                eager,
                clock.now(),
                class_id=session.id,
                payload={"seconds": 60},
            )
            for m in range(40)
        ]
        + [
            Interaction(
                k.QUESTION, Platform.TELEGRAM, f"q{n}", "python101", eager, clock.now(), class_id=session.id
            )
            for n in range(3)
        ]
        + [
            Interaction(
                k.OFFER_CLICK, Platform.TELEGRAM, "o1", "python101", eager, clock.now(), class_id=session.id
            )
        ]
    )
    clock.advance(timedelta(minutes=45))
    reply = await answer(app.teacher.hot(teacher, "python101"))
    assert reply.private
    lines = formatting.plain(reply.text).splitlines()
    assert lines == [
        "🔥 Hot leads in Decorators:",
        "1. L1 (hot, 0.83): watched 40 of 45 min, clicked the offer, asked 3 questions",
    ]
    assert quiet not in reply.text


async def test_stats_report_attendance_watch_time_and_segments(app: App, clock: ManualClock) -> None:
    learners = await enrol(app, Platform.TELEGRAM, ["1", "2", "3", "4"])
    await app.teacher.live(teacher, "python101", "https://youtube.com/live/x Decorators")
    k = InteractionKind
    await app.store.intake.ingest(
        [
            Interaction(
                k.WATCH_HEARTBEAT,
                Platform.WEB,
                f"hb{i}-{m}",
                "python101",
                lid,
                clock.now(),
                class_id="c1",
                payload={"seconds": 60},
            )
            for i, lid in enumerate(learners[:2])
            for m in range(20)
        ]
        + [
            Interaction(
                k.MESSAGE, Platform.TELEGRAM, "m1", "python101", learners[0], clock.now(), class_id="c1"
            )
        ]
    )
    clock.advance(timedelta(minutes=20))
    reply = await answer(app.teacher.stats(teacher, "python101"))
    assert reply.private
    assert formatting.plain(reply.text).splitlines() == [
        "📊 Decorators — live for 20 min",
        "Learners in class: 2 of 4 (50%)",
        "Average watch time: 20 min",
        "Messages 1 · questions 0 · reactions 0 · poll answers 0 · offer clicks 0",
        "Segments now: hot 0 · warm 2 · cold 2",
        "Interaction styles: silent watchers: 2 learners, watched 100%, 0.5 interactions each "
        "(mostly messages)",
        "Sales forecast: after 4 past classes (0 so far)",
    ]


async def test_stop_takes_effect_at_once_and_resume_undoes_it(app: App) -> None:
    who = Identity(Platform.TELEGRAM, "1")
    [learner_id] = await enrol(app, Platform.TELEGRAM, ["1"])
    reply = await app.learner.stop(who, "stop-1", course_id="python101")
    assert reply.text.startswith("Done: no more offers or reminders from me.")
    profile = await app.store.learners.get(learner_id)
    assert profile is not None
    assert profile.opted_out
    assert (await app.learner.stop(who, "stop-2")).text.startswith("You are already opted out.")
    await app.learner.resume(who, "resume-1", course_id="python101")
    profile = await app.store.learners.get(learner_id)
    assert profile is not None
    assert not profile.opted_out


async def test_start_through_a_class_link_records_the_join_and_answers_the_personal_link(app: App) -> None:
    await app.teacher.live(teacher, "python101", "https://youtube.com/live/x Decorators")
    who = Identity(Platform.TELEGRAM, "7")
    reply = await app.learner.start(who, "start-7", name="Ada", course_id="python101", class_id="c1")
    assert formatting.plain(reply.text) == (
        "Here is your personal link to Decorators: https://youtube.com/live/x (https://youtube.com/live/x)"
    )
    assert await app.store.activity.class_attendees("python101", "c1") == {"tg-7"}
    profile = await app.store.learners.get("tg-7")
    assert profile is not None
    assert Platform.TELEGRAM in profile.reachable


async def test_my_coupons_lists_codes_with_their_state(app: App, clock: ManualClock) -> None:
    who = Identity(Platform.TELEGRAM, "1")
    assert (await app.learner.my_coupons(who)).text == "You have no coupons yet."
    [learner_id] = await enrol(app, Platform.TELEGRAM, ["1"])
    from campaigns.coupons import issue_coupon

    config = app.config
    coupon = await issue_coupon(
        app.store.coupons,
        "hot-48h",
        config.coupons["hot-48h"],
        "python101",
        config.courses["python101"],
        learner_id,
        "k1",
        clock.now(),
    )
    text = formatting.plain((await app.learner.my_coupons(who)).text)
    assert text == f"Your coupons:\n• {coupon.code} — 20% off on Python 101 (valid until Wed 04 Nov 09:00)"
