"""Teacher commands in a course group: who may run them, usage help, private answers, polls and offers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.domain import FlashOffer, InteractionKind
from bot.usecases.countdown import OfferCountdowns, seconds_to_next_change
from tests.emulators.telegram_api import Fault
from tests.telegram.classroom import COURSE, Classroom
from tests.telegram.conftest import OpenRoom

STREAM = "https://youtube.com/live/abc"


async def test_bad_arguments_get_usage_help_in_the_group(room: Classroom) -> None:
    await room.say(room.teacher, "/live youtube.com/live/abc")
    await room.say(room.teacher, "/poll Only a question")
    assert room.group_texts() == [
        "'youtube.com/live/abc' is not a web address (it must start with https://).\n"
        "Usage: /live <stream url> [title]\n"
        "Example: /live https://youtube.com/live/abc Decorators",
        "A poll needs a question and at least two options, separated by |.\n"
        "Usage: /poll <question> | <option> | <option> ...\n"
        "Example: /poll Which topic next? | Generators | Async",
    ]
    assert await room.app.store.classes.current(COURSE) is None


async def test_stats_and_hot_are_answered_in_the_teachers_private_chat_only(room: Classroom) -> None:
    await room.go_live()
    group_before = room.group_texts()
    await room.say(room.teacher, "/stats")
    await room.say(room.teacher, "/hot")
    assert room.group_texts() == group_before
    _, stats, hot = room.texts(room.teacher)
    assert stats.startswith("📊 Decorators — live for 0 min\nLearners in class: 0 of 0")
    assert hot == "No hot or warm learners in Decorators yet."


async def test_a_teacher_who_never_started_the_bot_is_told_in_the_group_without_the_data(
    room: Classroom,
) -> None:
    room.teacher.started = False
    await room.go_live()
    await room.say(room.teacher, "/stats@classpulse_test_bot")
    note = room.last(room.group)
    assert note.text == (
        "Tess, I answer /stats only in private, and you have not started a chat with me yet. Open it with "
        "the button, press Start, then send /stats here again."
    )
    assert note.entities[0]["type"] == "text_mention"
    assert note.buttons == [{"text": "Open a chat with me", "url": "https://t.me/classpulse_test_bot"}]
    assert not any("Learners in class" in text for text in room.group_texts())


async def test_group_admins_teach_only_when_the_configuration_says_so_and_are_asked_about_once(
    open_room: OpenRoom,
) -> None:
    room = await open_room(teachers_include_group_admins=True)
    tg = room.tg
    assistant = tg.add_user("Asa")
    tg.chats[room.group.id].members[assistant.id] = "administrator"
    await room.say(assistant, "/schedule tomorrow 19:00 Decorators")
    await room.say(assistant, "/schedule tomorrow 20:00 Generators")
    await room.say(room.ann, "/schedule tomorrow 21:00 Mine")
    texts = room.group_texts()
    assert texts[0].startswith("Scheduled Decorators for Tue 03 Nov 19:00 (Europe/London)")
    assert texts[1].startswith("Scheduled Generators")
    assert texts[2] == "Sorry, only the teachers of Python 101 can do that."
    assert tg.stats.calls["getChatMember"] == 2  # once for Asa (remembered), once for Ann


async def test_group_admins_are_not_teachers_by_default(room: Classroom) -> None:
    tg = room.tg
    assistant = tg.add_user("Asa")
    tg.chats[room.group.id].members[assistant.id] = "administrator"
    await room.say(assistant, "/schedule tomorrow 19:00 Decorators")
    assert room.group_texts() == ["Sorry, only the teachers of Python 101 can do that."]
    assert tg.stats.calls["getChatMember"] == 0


async def test_a_group_of_no_course_says_how_to_link_it(room: Classroom) -> None:
    tg = room.tg
    other = tg.add_group("Another group", admins=[room.teacher])
    await room.say(room.teacher, f"/live {STREAM}", other)
    assert [m.text for m in tg.messages(other.id)] == [
        f"This group is not linked to a course yet: add {other.id} to courses.<course>.telegram_chats in "
        "the ClassPulse configuration."
    ]


async def test_an_anonymous_admin_is_asked_to_speak_as_themselves(room: Classroom) -> None:
    tg = room.tg
    group = room.group.as_json()
    await tg.inject(
        {
            "message": {
                "message_id": 99,
                "date": 1_800_000_000,
                "chat": group,
                "sender_chat": group,
                "from": {
                    "id": 1087968824,
                    "is_bot": True,
                    "first_name": "Group",
                    "username": "GroupAnonymousBot",
                },
                "text": f"/live {STREAM}",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            }
        }
    )
    await room.settle()
    assert room.group_texts()[0].startswith("I cannot tell which admin sent that")
    assert await room.app.store.classes.current(COURSE) is None


async def test_teacher_commands_in_the_private_chat_point_to_the_group(room: Classroom) -> None:
    await room.say(room.teacher, f"/live {STREAM}", room.teacher)
    assert room.texts(room.teacher) == [
        "Teacher commands work in your course's group, where I know which course you mean."
    ]


async def test_a_poll_is_native_non_anonymous_and_its_answers_count_for_the_class(room: Classroom) -> None:
    tg = room.tg
    await room.say(room.teacher, "/poll Tabs? | yes | no")
    assert room.group_texts() == ["Polls run during a live class; start one with /live first."]
    await room.go_live()
    await room.say(room.teacher, "/poll Which topic next? | Generators | Async | Typing")
    [message] = [m for m in tg.messages(room.group.id) if m.poll_id]
    poll = tg.poll(message.poll_id)
    assert (poll.question, poll.options, poll.is_anonymous) == (
        "Which topic next?",
        ["Generators", "Async", "Typing"],
        False,
    )
    await tg.answer_poll(room.bob, poll.id, [2])
    await room.settle()
    session = await room.app.store.classes.current(COURSE)
    assert session is not None
    [bob] = await room.app.store.activity.for_class(session)
    assert bob.count(InteractionKind.POLL_ANSWER) == 1


async def test_a_poll_telegram_refuses_is_told_to_the_teacher(room: Classroom) -> None:
    await room.go_live()
    room.tg.inject_fault(Fault(400, "Bad Request: poll options must be unique"), method="sendPoll")

    await room.say(room.teacher, "/poll Which? | Same | Same")

    assert not [m for m in room.tg.messages(room.group.id) if m.poll_id]
    assert room.group_texts()[-1].startswith("I could not post the poll here:")


async def test_an_offer_is_announced_with_a_claim_link_and_its_countdown_stops_with_the_bot(
    room: Classroom,
) -> None:
    await room.go_live()
    await room.say(room.teacher, "/offer hot-48h 15")
    announcement = room.last(room.group)
    assert announcement.text == (
        "⚡ Flash offer: 20% off Python 101 — 15 min left. Press the button to get your personal code."
    )
    [claim] = announcement.buttons
    assert claim["text"] == "Claim offer"
    assert claim["url"].startswith("https://t.me/classpulse_test_bot?start=C")
    offer = await room.app.store.offers.running(COURSE, room.clock.now())
    assert offer is not None
    countdown = room.bot.countdowns.running(COURSE, offer.id)
    assert countdown is not None
    assert not countdown.done()
    await room.service.stop()
    assert countdown.cancelled()


@pytest.mark.parametrize(("left", "wait"), [(900, 60), (125, 5), (120, 60), (61, 1), (60, 15), (44, 14)])
def test_the_countdown_wakes_when_the_shown_time_changes(left: int, wait: int) -> None:
    assert seconds_to_next_change(left) == wait


async def test_the_countdown_edits_as_time_runs_out_and_closes_the_offer(
    room: Classroom, clock: ManualClock
) -> None:
    tg = room.tg
    start = clock.now()
    offer = FlashOffer("o1", COURSE, "c1", "hot-48h", start, start + timedelta(minutes=2))
    claim = {
        "inline_keyboard": [[{"text": "Claim offer", "url": "https://t.me/classpulse_test_bot?start=C"}]]
    }
    posted = tg.bot_message(room.group, "⚡ Flash offer: 2 min left", claim)

    async def time_passes(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))

    countdowns = OfferCountdowns(room.bot.messenger, room.app.config, clock, time_passes)
    countdowns.start(offer, str(room.group.id), str(posted.message_id), ())
    task = countdowns.running(COURSE, "o1")
    assert task is not None
    await task
    edited = tg.message(room.group.id, posted.message_id)
    shown = [*edited.history[1:], edited.raw]
    assert [text.split(" — ")[1].split(".")[0] for text in shown[:-1]] == [
        "1 min left",
        "45 s left",
        "30 s left",
        "15 s left",
    ]
    assert shown[-1] == (
        "⚡ The flash offer (<b>20% off Python 101</b>) has ended. Thanks to everyone who claimed it!"
    )
    assert edited.reply_markup is None  # the claim button is gone
    assert countdowns.running(COURSE, "o1") is None


async def test_a_new_stream_link_edits_the_announcement_and_keeps_its_join_link(room: Classroom) -> None:
    announcement = await room.go_live()
    await room.say(room.teacher, f"/live {STREAM}")
    assert room.texts(room.teacher)[-1] == "Decorators is already live with that link."
    await room.say(room.teacher, "/live https://youtube.com/live/xyz")
    await room.deliver()
    assert room.texts(room.teacher)[-1] == "Link changed: the announcement was updated in 1 chat(s)."
    edited = room.tg.message(room.group.id, announcement.message_id)
    assert edited.text.startswith(
        "🔴 Live now (new link): Decorators — Python 101.\nStream: https://youtube.com/live/xyz"
    )
    [join] = edited.buttons
    assert join["url"].startswith("https://t.me/classpulse_test_bot?start=J")
    assert len(room.tg.messages(room.group.id)) == 1


async def test_why_explains_a_learner_in_the_teachers_private_chat_only(room: Classroom) -> None:
    await room.go_live()
    await room.say(room.ann, "Is this recorded?")  # Ann takes part: the bot knows her now
    group_before = room.group_texts()
    await room.say(room.teacher, "/why Ann")
    await room.say(room.teacher, "/why Nobody")
    assert room.group_texts() == group_before
    *_, why, unknown = room.texts(room.teacher)
    assert why.startswith("🔎 Ann — ")
    assert "• " in why
    assert unknown == "No learner of this course is called 'Nobody'."
