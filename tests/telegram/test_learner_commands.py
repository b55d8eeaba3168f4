"""Learner commands in the private chat, the deep links into it, and /ask in the group."""

from __future__ import annotations

from datetime import timedelta

from bot import formatting
from bot.domain import Identity, InteractionKind, Platform
from bot.usecases.learner import HELP
from tests.emulators.telegram_api import SentMessage
from tests.telegram.classroom import COURSE, Classroom

STREAM = "https://youtube.com/live/abc"


def link_of(message: SentMessage, label: str) -> str:
    [url] = [b["url"] for b in message.buttons if b["text"] == label]
    return str(url)


async def go_live(room: Classroom, title: str = "Decorators") -> str:
    """The teacher goes live; returns the announcement's join link."""
    return link_of(await room.go_live(title), "Join the live class")


async def test_start_without_a_payload_welcomes_and_makes_the_learner_reachable(room: Classroom) -> None:
    await room.say(room.ann, "/start", room.ann)
    assert room.texts(room.ann) == [f"Welcome! I will send you class links and reminders.\n\n{HELP}"]
    learner = await room.app.store.learners.get(f"tg-{room.ann.id}")
    assert learner is not None
    assert learner.name == "Ann"
    assert Platform.TELEGRAM in learner.reachable


async def test_an_expired_join_link_is_refused(room: Classroom) -> None:
    join = await go_live(room)
    room.clock.advance(timedelta(hours=12, seconds=1))  # telegram.link_valid_for is 12h
    await room.open_link(room.ann, join)
    assert room.texts(room.ann) == [
        "Sorry, this link has expired. Press the button in your course group again for a fresh one."
    ]


async def test_a_join_link_of_an_ended_class_offers_the_replay(room: Classroom) -> None:
    join = await go_live(room)
    await room.say(room.teacher, "/end")
    await room.open_link(room.ann, join)
    assert room.texts(room.ann) == ["Decorators has ended. The replay: watch"]
    assert room.last(room.ann).entities[-1]["url"] == "https://videos.example.com/python101/replays"


async def test_a_claim_gives_a_personal_code_while_the_offer_runs_and_mycoupons_lists_it(
    room: Classroom,
) -> None:
    await go_live(room)
    await room.say(room.teacher, "/offer warm-7d 5")
    claim = link_of(room.last(room.group), "Claim offer")
    await room.open_link(room.ann, claim)
    code_reply = room.last(room.ann)
    assert code_reply.text.startswith("Your code for 30 USD off Python 101: PY-")
    assert code_reply.buttons == [{"text": "Enrol now", "url": "https://shop.example.com/python101"}]
    code = next(e for e in code_reply.entities if e["type"] == "code")
    shown = code_reply.text[code["offset"] : code["offset"] + code["length"]]
    await room.open_link(room.ann, claim)  # a second press: the same code again
    assert shown in room.last(room.ann).text

    room.clock.advance(timedelta(minutes=6))
    await room.open_link(room.bob, claim)
    assert room.texts(room.bob) == ["Sorry, this flash offer has ended."]
    await room.say(room.ann, "/mycoupons", room.ann)
    assert room.texts(room.ann)[-1].startswith(
        f"Your coupons:\n• {shown} — 30 USD off on Python 101 (valid until"
    )


async def test_stop_and_resume(room: Classroom) -> None:
    room.ann.started = True  # she opened the bot's chat earlier
    await room.say(room.ann, "/stop", room.ann)
    await room.say(room.ann, "/stop", room.ann)
    await room.say(room.ann, "/resume", room.ann)
    assert room.texts(room.ann) == [
        "Done: no more offers or reminders from me. /resume if you change your mind.",
        "You are already opted out. /resume to get offers and reminders again.",
        "Welcome back: you will get class reminders and offers again. /stop stops them.",
    ]
    learner = await room.app.store.learners.get(f"tg-{room.ann.id}")
    assert learner is not None
    assert not learner.opted_out


async def test_link_gives_a_code_and_a_code_from_discord_links_the_accounts(room: Classroom) -> None:
    room.ann.started = True
    await room.say(room.ann, "/link", room.ann)
    assert room.texts(room.ann)[0].startswith("Your link code: ")
    assert "to me on Discord within 10 minutes" in room.texts(room.ann)[0]

    discord = Identity(Platform.DISCORD, "4242")
    asked = await room.app.linking.request(discord)
    code = formatting.plain(asked.text).split()[3].rstrip(".")  # "Your link code: ABCD2345. Send ..."
    await room.say(room.ann, f"/link {code}", room.ann)
    assert room.texts(room.ann)[-1] == (
        "Done: your accounts are linked. I will write to you where you were last active."
    )
    assert await room.app.store.learners.resolve(discord) == await room.app.store.learners.resolve(
        Identity(Platform.TELEGRAM, str(room.ann.id))
    )
    await room.say(room.ann, "/link NOTACODE", room.ann)
    assert room.texts(room.ann)[-1].startswith("That code is unknown or has expired")


async def test_anything_else_written_to_the_bot_gets_the_help(room: Classroom) -> None:
    room.ann.started = True
    await room.say(room.ann, "hello?", room.ann)
    await room.say(room.ann, "/help", room.ann)
    await room.say(room.ann, "/whatever", room.ann)
    assert room.texts(room.ann) == [HELP, HELP, HELP]


async def test_ask_records_the_question_quietly_and_without_one_gives_the_usage(room: Classroom) -> None:
    await go_live(room)
    before = room.group_texts()
    await room.say(room.bob, "/ask what is a closure")
    assert room.group_texts() == before
    await room.say(room.bob, "/ask")
    assert room.group_texts()[len(before) :] == [
        "Ask after the command, in the same message.\n"
        "Usage: /ask <question>\n"
        "Example: /ask What is a closure?"
    ]
    session = await room.app.store.classes.current(COURSE)
    assert session is not None
    [bob] = await room.app.store.activity.for_class(session)
    assert bob.count(InteractionKind.QUESTION) == 1
