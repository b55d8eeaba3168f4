"""Telegram updates become neutral Interactions; what ClassPulse does not use is ignored quietly."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram.types import Update

from adapters.telegram.context import ResolvedContext
from adapters.telegram.inbound import map_update
from adapters.telegram.polls import PollRef
from bot.domain import Interaction, InteractionKind, Platform, callbacks
from tests.emulators.telegram_api import TelegramEmulator, TgChat, TgUser

K = InteractionKind
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


class World:
    """Updates shaped by the emulator (as Telegram sends them), and a context that knows the course."""

    def __init__(self) -> None:
        self.tg = TelegramEmulator()
        self.bot_id = self.tg.bot_user.id
        self.ann = self.tg.add_user("Ann", last_name="Lee", language_code="de")
        self.teacher = self.tg.add_user("Tess")
        self.group = self.tg.add_group("Python 101", members=[self.ann], admins=[self.teacher])
        self.other = self.tg.add_group("Unrelated chat", members=[self.ann])
        self.poll = self.tg.bot_poll(self.group, "Tabs or spaces?", ["tabs", "spaces"])
        self.ctx = ResolvedContext(
            courses_by_chat={self.group.id: "py"},
            learners={self.ann.id: "tg-ann"},  # the teacher resolves to no learner
            live_classes={"py": "c7"},
            polls={self.poll.id: PollRef(self.poll.id, "py", "c6", self.group.id, self.poll.message_id)},
            classes=frozenset({("py", "c5"), ("py", "c6"), ("py", "c7")}),
            offers={("py", "o1"): "c5"},
        )

    async def map(self, update: dict[str, Any] | Awaitable[dict[str, Any]]) -> list[Interaction]:
        body = await update if inspect.isawaitable(update) else update
        return map_update(
            Update.model_validate(body),
            self.ctx,
            bot_id=self.bot_id,
            received_at=NOW,
            bot_username="classpulse_test_bot",
        )

    async def one(self, update: dict[str, Any] | Awaitable[dict[str, Any]]) -> Interaction:
        [interaction] = await self.map(update)
        return interaction

    def text(self, text: str, chat: TgChat | TgUser | None = None, **kw: Any) -> Awaitable[dict[str, Any]]:
        return self.tg.send_text(chat or self.group, self.ann, text, **kw)


@pytest.fixture
def world() -> World:
    return World()


async def test_a_group_message_is_a_message_in_the_live_class(world: World) -> None:
    update = await world.text("good morning")
    [interaction] = map_update(Update.model_validate(update), world.ctx, bot_id=world.bot_id, received_at=NOW)
    assert interaction.kind is K.MESSAGE
    assert interaction.platform is Platform.TELEGRAM
    assert (interaction.course_id, interaction.class_id, interaction.learner_id) == ("py", "c7", "tg-ann")
    assert interaction.chat_id == str(world.group.id)
    assert interaction.event_id == f"{world.bot_id}:u{update['update_id']}"
    assert interaction.payload == {"length": 12, "content": "text"}


async def test_outside_a_live_class_the_class_is_empty(world: World) -> None:
    world.ctx = ResolvedContext(courses_by_chat={world.group.id: "py"}, learners={world.ann.id: "tg-ann"})
    assert (await world.one(world.text("hello"))).class_id == ""


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("what is a closure?", "what is a closure?"),
        ("列表和元组有什么区别？", "列表和元组有什么区别？"),
        ("/ask why tuples", "why tuples"),
        ("/ask@classpulse_test_bot why lists", "why lists"),
    ],
)
async def test_a_message_that_asks_is_a_question(world: World, text: str, asked: str) -> None:
    interaction = await world.one(world.text(text))
    assert interaction.kind is K.QUESTION
    assert interaction.payload["text"] == asked


@pytest.mark.parametrize("text", ["/ask", "/ask@other_bot why", "/live https://x.example", "/stats"])
async def test_commands_are_not_chat(world: World, text: str) -> None:
    assert await world.map(world.text(text)) == []


async def test_a_reply_says_what_it_answers_and_whether_that_was_the_bot(world: World) -> None:
    asked = await world.text("anyone?")
    reply = await world.one(world.text("me too", reply_to=asked["message"]["message_id"]))
    assert reply.payload["reply_to"] == asked["message"]["message_id"]
    assert "reply_to_bot" not in reply.payload
    announcement = world.tg.bot_message(world.group, "We are live")
    answer = await world.one(world.text("thanks", reply_to=announcement.message_id))
    assert answer.payload["reply_to_bot"] == 1


async def test_messages_outside_course_groups_and_of_non_learners_are_ignored(world: World) -> None:
    assert await world.map(world.text("hi", chat=world.other)) == []
    assert await world.map(world.text("hi", chat=world.ann)) == []  # the private chat: commands live there
    assert await world.map(world.tg.send_text(world.group, world.teacher, "today: closures")) == []
    robot = world.tg.add_user("Robot")
    robot.is_bot = True
    assert await world.map(world.tg.send_text(world.group, robot, "beep")) == []


async def test_an_added_reaction_counts_and_a_removed_one_does_not(world: World) -> None:
    added = await world.one(world.tg.react(world.group, world.ann, 12, ["🔥"], old=["👍"]))
    assert added.kind is K.REACTION
    assert added.payload == {"emoji": "🔥", "message_id": 12}
    assert added.class_id == "c7"
    assert await world.map(world.tg.react(world.group, world.ann, 12, [], old=["🔥"])) == []


async def test_an_answer_to_the_bots_poll_counts_for_the_class_the_poll_was_sent_in(world: World) -> None:
    answer = await world.one(world.tg.answer_poll(world.ann, world.poll.id, [1]))
    assert answer.kind is K.POLL_ANSWER
    assert (answer.course_id, answer.class_id, answer.chat_id) == ("py", "c6", str(world.group.id))
    assert answer.payload == {"poll_id": world.poll.id, "options": "1"}
    assert answer.at == NOW
    unknown = world.tg.bot_poll(world.group, "Coffee?", ["yes", "no"])  # not in the registry
    assert await world.map(world.tg.answer_poll(world.ann, unknown.id, [0])) == []
    assert await world.map(world.tg.answer_poll(world.ann, world.poll.id, [])) == []  # a vote taken back


async def test_button_presses_are_joins_and_offer_clicks_of_the_class_they_belong_to(world: World) -> None:
    claim, join, start = callbacks.claim("py", "o1"), callbacks.join("py", "c6"), callbacks.start("py", "c7")
    rows = [[{"text": label, "callback_data": data}] for label, data in (("Claim", claim), ("Join", join))]
    rows += [[{"text": "Open", "callback_data": start}], [{"text": "?", "callback_data": "other-bot-data"}]]
    message = world.tg.bot_message(world.group, "Offer", {"inline_keyboard": rows})
    click = await world.one(world.tg.press_button(world.ann, message, claim))
    assert click.kind is K.OFFER_CLICK
    assert (click.course_id, click.class_id, click.payload) == (
        "py",
        "c5",
        {"offer": "o1"},
    )  # the offer's class
    joined = await world.one(world.tg.press_button(world.ann, message, join))
    assert (joined.kind, joined.class_id) == (K.JOIN, "c6")
    assert await world.map(world.tg.press_button(world.ann, message, start)) == []
    assert await world.map(world.tg.press_button(world.ann, message, "other-bot-data")) == []


async def test_presses_naming_a_class_or_offer_that_does_not_exist_are_ignored(world: World) -> None:
    unknown = (callbacks.claim("py", "o99"), callbacks.join("py", "c99"), callbacks.join("nope", "c1"))
    rows = [[{"text": "x", "callback_data": data}] for data in unknown]
    stale = world.tg.bot_message(world.group, "Old offer", {"inline_keyboard": rows})
    for data in unknown:
        assert await world.map(world.tg.press_button(world.ann, stale, data)) == []


async def test_a_join_reported_twice_by_telegram_is_one_event(world: World) -> None:
    bob = world.tg.add_user("Bob")
    world.ctx = ResolvedContext({world.group.id: "py"}, {bob.id: "tg-bob"}, {"py": "c7"})
    member_update, service_message = await world.tg.join(world.group, bob)
    via_member = await world.one(member_update)
    via_service = await world.one(service_message)
    assert via_member.kind is via_service.kind is K.JOIN
    assert via_member.event_id == via_service.event_id
    left = await world.map((await world.tg.leave(world.group, bob))[0])
    assert [i.kind for i in left] == [K.LEAVE]


async def test_the_bot_itself_joining_is_not_a_learner_joining(world: World) -> None:
    for update in await world.tg.join(world.group, world.tg.bot_user):
        assert await world.map(update) == []


async def test_unsupported_updates_are_ignored_quietly(world: World) -> None:
    edited = {"edited_message": {**(await world.text("typo"))["message"], "edit_date": 1}}
    assert await world.map(world.tg.inject(edited)) == []
    change = (await world.tg.join(world.group, world.ann, service_message=False))[0]["chat_member"]
    assert await world.map(world.tg.inject({"my_chat_member": change})) == []


async def test_a_redelivered_update_maps_to_the_same_event(world: World) -> None:
    update = await world.text("hello")
    first = await world.one(update)
    again = await world.one(dict(update))
    assert first.dedup_key == again.dedup_key
