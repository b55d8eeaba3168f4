"""Teachers' slash commands, run through discord.py's command tree against the emulator and the real core."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import ClassState
from bot.usecases.countdown import seconds_to_next_change
from tests.discord.classroom import Classroom
from tests.discord.scene import COURSE, learner
from tests.emulators.discord_api import EPHEMERAL, IssuedInteraction

STREAM = "https://youtube.com/live/abc"


def deferred_privately(issued: IssuedInteraction) -> bool:
    """Acknowledged by a private "thinking…" deferral (type 5, ephemeral) and nothing else."""
    return [(c.type, c.flags & EPHEMERAL, c.status) for c in issued.callbacks] == [(5, EPHEMERAL, 200)]


async def go_live(room: Classroom) -> IssuedInteraction:
    issued = await room.command(room.scene.teacher, "class live", url=STREAM, title="Decorators")
    await room.deliver()
    return issued


# ----------------------------------------------------------------------------------------------- /class


async def test_going_live_posts_the_announcement_with_a_join_button_and_tells_the_teacher_privately(
    room: Classroom,
) -> None:
    issued = await go_live(room)

    assert deferred_privately(issued)
    answer = room.answer(issued)
    assert answer.ephemeral
    assert answer.content == (
        "🔴 **Decorators** is live: announced in 2 chat\\(s\\) of Python 101, pinned where I may pin."
    )
    [announcement] = room.posts()
    assert announcement.content == (
        "🔴 Live now: **Decorators** — Python 101.\n"
        f"Stream: <{STREAM}>\n"
        "Press the button for your personal link."
    )
    assert announcement.pinned
    assert [(b["label"], b["custom_id"]) for b in announcement.buttons] == [
        ("Join the live class", f"join:{COURSE}:c1")
    ]
    session = await room.app.store.classes.current(COURSE)
    assert session is not None
    assert (session.state, session.stream_url) == (ClassState.LIVE, STREAM)


async def test_a_learner_is_refused_and_nothing_is_posted_or_started(room: Classroom) -> None:
    issued = await room.command(room.scene.ada, "class live", url=STREAM)

    answer = room.answer(issued)
    assert (answer.ephemeral, answer.content) == (True, "Sorry, only the teachers of Python 101 can do that.")
    assert room.posts() == []
    assert await room.app.store.classes.current(COURSE) is None


async def test_a_teacher_by_role_may_run_teacher_commands(room: Classroom) -> None:
    issued = await room.command(
        room.scene.assistant, "class schedule", when="2026-11-04 18:00", title="Generators"
    )

    assert room.answer(issued).content == (
        "Scheduled **Generators** for Wed 04 Nov 18:00 \\(Europe/London\\); 3 reminders planned."
    )
    session = await room.app.store.classes.current(COURSE)
    assert session is not None
    assert session.scheduled_at == datetime(2026, 11, 4, 18, 0, tzinfo=UTC)


async def test_a_usage_mistake_gets_polite_help_privately(room: Classroom) -> None:
    issued = await room.command(room.scene.teacher, "class schedule", when="someday", title="Generators")

    answer = room.answer(issued)
    assert answer.ephemeral
    assert answer.content.splitlines()[:2] == [
        "I cannot read 'someday Generators' as a time.",
        "Usage: /class schedule <when\\> <title\\>",  # as Discord shows it: <when> <title>
    ]


async def test_stats_and_hot_are_answered_privately(room: Classroom) -> None:
    await go_live(room)
    await room.say(room.scene.ada, "Is this recorded?")
    room.clock.advance(timedelta(minutes=20))

    stats = room.answer(await room.command(room.scene.teacher, "class stats"))
    hot = room.answer(await room.command(room.scene.teacher, "class hot", count=5))

    assert stats.ephemeral
    assert hot.ephemeral
    assert stats.content.splitlines()[:2] == [
        "📊 **Decorators** — live for 20 min",
        "Learners in class: 1 of 1 \\(100%\\)",
    ]
    assert hot.content.startswith(("🔥 Hot leads in **Decorators**", "No hot or warm learners"))


async def test_ending_the_class_answers_privately_and_a_second_end_is_refused(room: Classroom) -> None:
    await go_live(room)
    room.clock.advance(timedelta(minutes=50))

    ended = room.answer(await room.command(room.scene.teacher, "class end"))
    again = room.answer(await room.command(room.scene.teacher, "class end"))

    assert ended.ephemeral
    assert ended.content.startswith("Class **Decorators** ended after 50 min.")
    assert again.content == "No class of this course is live right now."
    assert len(room.posts()) == 1  # the announcement; nothing about the end is posted for learners


async def test_ending_the_class_first_credits_learners_still_in_the_stage(room: Classroom) -> None:
    scene = room.scene
    await go_live(room)
    await room.feed.dispatch("VOICE_STATE_UPDATE", scene.server.voice_state(scene.ada, scene.stage, "v1"))
    room.clock.advance(timedelta(minutes=30))  # no periodic flush ran meanwhile

    await room.command(scene.teacher, "class end")

    scores = await room.app.store.scores.for_class(COURSE, "c1")
    assert scores[learner(scene.ada.id)].reasons[0] == "watched 30 of 30 min"


async def test_a_command_the_gateway_delivers_twice_runs_once(room: Classroom) -> None:
    payload = room.slash(room.scene.teacher, "class live", {"url": STREAM})

    first = await room.run(payload)
    await room.feed.dispatch("INTERACTION_CREATE", payload)

    await room.deliver()
    assert [c.status for c in first.callbacks] == [200, 400]  # Discord: "already acknowledged"
    assert len(room.posts()) == 1


async def test_an_interaction_discord_already_dropped_changes_nothing(room: Classroom) -> None:
    too_old = datetime.now(UTC) - timedelta(seconds=4)

    issued = await room.run(room.slash(room.scene.teacher, "class live", {"url": STREAM}, created=too_old))

    assert [c.status for c in issued.callbacks] == [404]
    assert await room.app.store.classes.current(COURSE) is None
    assert room.posts() == []


# ------------------------------------------------------------------------------------------------ /poll


async def test_a_poll_is_posted_natively_and_its_votes_count_for_the_live_class(room: Classroom) -> None:
    await go_live(room)
    issued = await room.command(
        room.scene.teacher, "poll", question="Which topic next?", option1="Generators", option2="Async"
    )

    assert room.answer(issued).content == "Posted: the answers count for the live class."
    [poll] = [m for m in room.posts() if m.poll]
    assert poll.poll is not None
    assert poll.poll["question"]["text"] == "Which topic next?"
    assert [a["poll_media"]["text"] for a in poll.poll["answers"]] == ["Generators", "Async"]
    assert poll.poll["allow_multiselect"] is False
    await room.feed.dispatch(
        "MESSAGE_POLL_VOTE_ADD", room.scene.server.poll_vote(room.scene.general, poll.id, room.scene.ada, 2)
    )
    counters = await room.app.store.client.hgetall(
        room.app.store.keys.learner_class(COURSE, "c1", learner(room.scene.ada.id))
    )
    assert counters["poll_answer"] == "1"


async def test_a_poll_needs_a_live_class(room: Classroom) -> None:
    issued = await room.command(room.scene.teacher, "poll", question="Next?", option1="A", option2="B")

    assert room.answer(issued).content == "Polls run during a live class; start one with /live first."
    assert room.posts() == []


async def test_a_poll_answer_with_a_bar_is_refused(room: Classroom) -> None:
    await go_live(room)
    issued = await room.command(room.scene.teacher, "poll", question="Pick", option1="A|B", option2="C")

    assert room.answer(issued).content == "A question or an answer cannot contain “\\|”."
    assert [m for m in room.posts() if m.poll] == []


# ----------------------------------------------------------------------------------------------- /offer


async def test_a_flash_offer_is_posted_with_a_claim_button_and_counts_down_until_it_ends(
    room: Classroom,
) -> None:
    await go_live(room)
    issued = await room.command(room.scene.teacher, "offer", pool="hot-48h", minutes=3)

    assert room.answer(issued).content.startswith("Posted: the flash offer counts down")
    [offer] = [m for m in room.posts() if m.buttons and m.buttons[0]["label"] == "Claim offer"]
    assert offer.content == (
        "⚡ Flash offer: **20% off Python 101** — 3 min left. Press the button to get your personal code."
    )
    countdown = room.bot.countdowns.running(COURSE, offer.buttons[0]["custom_id"].split(":")[2])
    assert countdown is not None
    room.sleep.run_freely()
    await countdown

    shown = [h["content"] for h in offer.history] + [offer.content]
    assert [line.split(" — ")[-1].split(".")[0] for line in shown[:-1]] == [
        "3 min left",
        "2 min left",
        "1 min left",
        "45 s left",
        "30 s left",
        "15 s left",
    ]
    assert shown[-1].startswith("⚡ The flash offer \\(**20% off Python 101**\\) has ended.")
    assert offer.components == []  # no button to press any more
    assert room.sleep.requested == [60, 60, 15, 15, 15, 15]


async def test_offer_suggests_the_configured_coupon_pools(room: Classroom) -> None:
    payload = room.scene.server.autocomplete(
        room.api.application_id, room.scene.general, room.scene.teacher, "offer", "pool", "WARM"
    )
    issued = await room.run(payload)

    [callback] = issued.callbacks
    assert callback.type == 8
    assert callback.data["choices"] == [
        {"name": "warm-15pct", "value": "warm-15pct"},
        {"name": "warm-7d", "value": "warm-7d"},
    ]


async def test_stopping_the_bot_stops_the_countdowns(room: Classroom) -> None:
    await go_live(room)
    await room.command(room.scene.teacher, "offer", pool="warm-7d", minutes=10)
    [offer] = [m for m in room.posts() if m.buttons and m.buttons[0]["label"] == "Claim offer"]
    countdown = room.bot.countdowns.running(COURSE, offer.buttons[0]["custom_id"].split(":")[2])
    assert countdown is not None

    await room.bot.close()

    assert countdown.cancelled()


@pytest.mark.parametrize(
    ("left", "wait"), [(600, 60), (601, 1), (130, 10), (61, 1), (60, 15), (59, 14), (15, 15), (1, 1)]
)
def test_the_countdown_is_redrawn_when_its_text_would_change(left: int, wait: int) -> None:
    assert seconds_to_next_change(left) == wait


async def test_why_explains_a_learner_privately(room: Classroom) -> None:
    await go_live(room)
    await room.say(room.scene.ada, "Is this recorded?")
    room.clock.advance(timedelta(minutes=10))

    why = room.answer(await room.command(room.scene.teacher, "class why", learner=room.scene.ada.name))
    refused = room.answer(await room.command(room.scene.ada, "class why", learner=room.scene.ada.name))

    assert why.ephemeral
    assert why.content.startswith(f"🔎 **{room.scene.ada.name}** — ")
    assert refused.content == "Sorry, only the teachers of Python 101 can do that."
