"""A live class on Telegram, end to end: the real aiogram bot, the emulator, real Redis and the real App."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest

from adapters.telegram.webhook import SECRET_HEADER
from bot.domain import Identity, Interaction, InteractionKind, Platform
from tests.emulators.telegram_api import SentMessage
from tests.telegram.classroom import COURSE, HOOK_SECRET, STREAM, Classroom
from tests.telegram.conftest import OpenRoom


@pytest.fixture
async def room(open_room: OpenRoom) -> Classroom:
    """Python 101 on Telegram with Telegram's own limits: one message a second into a private chat."""
    return await open_room(private_chat_rate=1.0)


K = InteractionKind


def button(message: SentMessage, label: str) -> str:
    """The address behind a button: the core's join/claim/start buttons are deep links on Telegram."""
    [url] = [b["url"] for b in message.buttons if b["text"] == label]
    return str(url)


def find(room: Classroom, starts: str) -> SentMessage:
    [message] = [m for m in room.tg.messages(room.group.id) if m.text.startswith(starts)]
    return message


async def learner_counts(room: Classroom, user_id: int) -> dict[K, int]:
    session = await room.app.store.classes.current(COURSE)
    assert session is not None
    activity = {a.learner_id: a for a in await room.app.store.activity.for_class(session)}
    learner = activity.get(f"tg-{user_id}")
    return dict(learner.counts) if learner is not None else {}


async def watch(room: Classroom, user_id: int, minutes: int) -> None:
    session = await room.app.store.classes.current(COURSE)
    assert session is not None
    learner = await room.app.store.learners.resolve(Identity(Platform.TELEGRAM, str(user_id)))
    await room.app.store.intake.ingest(
        [
            Interaction(
                K.WATCH_HEARTBEAT,
                Platform.WEB,
                f"hb-{learner}-{minute}",
                COURSE,
                learner,
                room.clock.now(),
                class_id=session.id,
                payload={"seconds": 60},
            )
            for minute in range(minutes)
        ]
    )


async def test_from_go_live_to_the_follow_up_coupon(room: Classroom) -> None:
    tg, ann, bob, teacher = room.tg, room.ann, room.bob, room.teacher
    await room.say(bob, "hi all, is the class today?")  # Bob is in the course but never started the bot

    announcement = await room.go_live("Decorators")
    assert announcement.text == (
        f"🔴 Live now: Decorators — Python 101.\nStream: {STREAM}\nPress the button for your personal link."
    )
    assert announcement.pinned
    assert room.texts(teacher) == [
        "🔴 Decorators is live: announced in 1 chat(s) of Python 101, pinned where I may pin."
    ]
    join = button(announcement, "Join the live class")
    assert join.startswith("https://t.me/classpulse_test_bot?start=J")

    await room.advance(room.clock.now())  # the campaign's "we-are-live" step runs
    mention = room.last(room.group)
    assert mention.text.startswith("Bob, I have a message for you about Python 101")
    assert mention.entities[0]["type"] == "text_mention"
    assert mention.entities[0]["user"]["id"] == bob.id
    assert button(mention, "Open my messages").startswith("https://t.me/classpulse_test_bot?start=S")

    await room.open_link(ann, join)
    assert room.texts(ann) == [f"Here is your personal link to Decorators: {STREAM}"]
    assert room.last(ann).entities[-1]["url"] == STREAM

    await room.say(ann, "hello everyone")
    await room.say(ann, "what does functools.wraps do?")
    question = await room.say(ann, "/ask can a decorator take arguments")
    await tg.react(room.group, ann, question["message"]["message_id"], ["🔥"])
    await room.settle()
    await room.say(teacher, "/poll Which topic next? | Generators | Async")
    [poll] = [m for m in tg.messages(room.group.id) if m.poll_id]
    assert not tg.poll(poll.poll_id).is_anonymous
    await tg.answer_poll(ann, poll.poll_id, [1])
    await room.settle()

    # Ann watches 35 minutes: the stream relay's heartbeats, fed to intake as the relay feeds them.
    await watch(room, ann.id, minutes=35)

    await room.say(teacher, "/offer hot-48h 10")
    offer = find(room, "⚡ Flash offer: 20% off Python 101 — 10 min left.")
    await room.open_link(bob, button(offer, "Claim offer"))  # the claim opens Bob's private chat too
    assert room.texts(bob)[-1].startswith("Your code for 20% off Python 101: PY-")

    counts = await learner_counts(room, ann.id)
    assert (counts[K.JOIN], counts[K.MESSAGE], counts[K.QUESTION]) == (1, 1, 2)
    assert (counts[K.REACTION], counts[K.POLL_ANSWER]) == (1, 1)
    assert (await learner_counts(room, bob.id))[K.OFFER_CLICK] == 1

    room.clock.advance(timedelta(minutes=40))
    before = room.group_texts()
    await room.say(teacher, "/hot")
    assert room.group_texts() == before  # never in the group
    hot = room.texts(teacher)[-1].splitlines()
    assert hot[0] == "🔥 Hot leads in Decorators:"
    assert hot[1].startswith("1. Ann (hot, ")
    assert hot[1].endswith(
        "watched 35 of 40 min, asked 2 questions, answered a poll, wrote a message, reacted once"
    )

    await room.say(teacher, "/end")
    assert room.group_texts()[-1].startswith("Class Decorators ended after 40 min.")
    await room.advance(room.clock.now() + timedelta(minutes=31))
    follow_up = room.texts(ann)[-1]
    assert follow_up.startswith("Thanks for an active class, Ann! Here is 20% off on Python 101: PY-")
    assert not any("Thanks for an active class" in text for text in room.texts(bob))


async def test_a_learner_who_never_started_the_bot_is_mentioned_in_the_group_and_gets_in_by_the_button(
    room: Classroom,
) -> None:
    bob = room.bob
    await room.say(bob, "morning!")
    await room.go_live("Generators")
    await room.advance(room.clock.now())
    mention = room.last(room.group)
    assert mention.text.startswith("Bob, I have a message for you about Python 101 but cannot write to you")
    assert room.texts(bob) == []

    await room.open_link(bob, button(mention, "Open my messages"))
    assert room.texts(bob) == [f"Here is your personal link to Generators: {STREAM}"]
    learner = await room.app.store.learners.get(f"tg-{bob.id}")
    assert learner is not None
    assert "telegram" in {p.value for p in learner.reachable}


async def test_stop_is_honoured_from_that_moment(room: Classroom) -> None:
    ann = room.ann
    await room.open_link(ann, button(await room.go_live("Closures"), "Join the live class"))
    for text in ("hi", "why closures?", "and cells?", "/ask what is nonlocal", "thanks!", "great"):
        await room.say(ann, text)
    await room.say(room.teacher, "/end")
    room.clock.advance(timedelta(minutes=31))
    await room.app.scheduler.run_due(room.clock.now())  # the follow-up is queued for Ann...
    assert await room.app.store.outbox.pending() == 1

    await room.say(ann, "/stop", ann)  # ...and she says stop before it goes out
    assert (
        room.texts(ann)[-1] == "Done: no more offers or reminders from me. /resume if you change your mind."
    )
    await room.app.dispatcher.drain()
    assert not any("Thanks for an active class" in text for text in room.texts(ann))
    assert room.app.dispatcher.outcomes["suppressed"] == 1


async def test_a_learners_live_is_refused_and_changes_nothing(room: Classroom) -> None:
    await room.say(room.ann, f"/live {STREAM} My own class")
    assert room.group_texts() == ["Sorry, only the teachers of Python 101 can do that."]
    assert await room.app.store.classes.current(COURSE) is None


async def test_a_forged_payload_is_refused_and_records_nothing(room: Classroom) -> None:
    join = button(await room.go_live("Decorators"), "Join the live class")
    forged = join[:-1] + ("A" if join[-1] != "A" else "B")
    await room.open_link(room.ann, forged)
    assert room.texts(room.ann) == [
        "Sorry, this link's signature does not match: it was altered or made up. "
        "Press the button in your course group again for a fresh one."
    ]
    assert await learner_counts(room, room.ann.id) == {}
    assert f"tg-{room.ann.id}" not in await room.app.store.activity.course_learners(COURSE)


WEBHOOK = {
    "mode": "webhook",
    "webhook": {"url": "https://bot.example.com/tg/hook", "path": "/tg/hook", "listen": "127.0.0.1:0"},
}


async def test_updates_arrive_by_webhook_with_the_secret_token(open_room: OpenRoom) -> None:
    room = await open_room(private_chat_rate=1.0, **WEBHOOK)
    assert room.tg.webhook == {
        "url": "https://bot.example.com/tg/hook",
        "secret_token": HOOK_SECRET,
        "allowed_updates": ["message", "message_reaction", "poll_answer", "callback_query", "chat_member"],
    }
    await room.tg.send_text(room.group, room.teacher, f"/live {STREAM} Decorators")
    await room.deliver()
    assert room.group_texts()[0].startswith("🔴 Live now: Decorators")
    assert [d.status for d in room.tg.webhook_deliveries] == [200]


async def test_a_webhook_call_with_a_wrong_secret_is_refused_and_changes_nothing(open_room: OpenRoom) -> None:
    room = await open_room(private_chat_rate=1.0, **WEBHOOK)
    host, port = room.service.webhook_address or ("", 0)
    update = {
        "update_id": 900_000_001,
        "message": {
            "message_id": 7,
            "date": 1_800_000_000,
            "chat": {"id": room.group.id, "type": "supergroup", "title": "Python 101"},
            "from": {"id": room.teacher.id, "is_bot": False, "first_name": "Tess"},
            "text": f"/live {STREAM} Forged",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }
    async with aiohttp.ClientSession() as http:
        for headers in ({SECRET_HEADER: "guessed"}, {}):
            async with http.post(f"http://{host}:{port}/tg/hook", json=update, headers=headers) as response:
                assert (response.status, await response.text()) == (403, "wrong or missing secret token")
        assert room.group_texts() == []
        assert await room.app.store.classes.current(COURSE) is None
        assert await room.app.store.client.keys("cp:tg:update:*") == []  # not even marked as seen
        # The same update with the right secret is handled: the refused calls left no trace.
        async with http.post(
            f"http://{host}:{port}/tg/hook", json=update, headers={SECRET_HEADER: HOOK_SECRET}
        ) as response:
            assert response.status == 200
    await room.deliver()
    assert room.group_texts()[0].startswith("🔴 Live now: Forged")
