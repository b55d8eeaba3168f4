"""Telegram updates to neutral Interactions, as pure functions.

Two steps, both without I/O: `read_update` says what happened, who did it and where (an `Event`, still in
Telegram's terms: user and chat ids); `to_interactions` turns events into Interactions given a small
context that knows which course a chat belongs to, the learner id of a Telegram user and the live class of
a course (see `context.py` for the one built from the stores). Updates ClassPulse does not use, and actions
of bots, anonymous admins and channels, give no events: they are ignored quietly.

Event ids come from the update id (and the bot id, which numbers its own updates), so an update that is
delivered twice becomes the same Interaction twice and intake drops the copy. Joins and leaves are the
exception: Telegram reports one join twice (a `chat_member` update and a service message), so their id
names the chat, the user and the time instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from aiogram.enums import ContentType
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    Message,
    MessageReactionUpdated,
    PollAnswer,
    ReactionTypeCustomEmoji,
    ReactionTypeEmoji,
    ReactionTypePaid,
    Update,
    User,
)

from adapters.telegram.polls import PollRef
from bot.domain import Interaction, InteractionKind, Platform, is_question, question_text
from bot.domain.callbacks import Action, Callback

K = InteractionKind
_COMMAND = re.compile(r"^/([A-Za-z0-9_]+)(?:@([A-Za-z0-9_]+))?(?:\s+|$)")
# What a learner posts that counts as taking part; service messages (pins, title changes...) do not.
_CONTENT = frozenset(
    {
        ContentType.TEXT,
        ContentType.PHOTO,
        ContentType.VIDEO,
        ContentType.ANIMATION,
        ContentType.STICKER,
        ContentType.VOICE,
        ContentType.VIDEO_NOTE,
        ContentType.AUDIO,
        ContentType.DOCUMENT,
        ContentType.DICE,
        ContentType.POLL,
        ContentType.LOCATION,
    }
)
_MEMBER_STATUSES = frozenset({"creator", "administrator", "member"})

Payload = Mapping[str, str | int | float]


@dataclass(frozen=True, slots=True)
class Sender:
    user_id: int
    name: str = ""
    language: str = ""
    username: str = ""

    @classmethod
    def of(cls, user: User) -> Sender:
        return cls(user.id, user.full_name, user.language_code or "", user.username or "")


@dataclass(frozen=True, slots=True)
class Event:
    """What one update says a person did, in Telegram's terms."""

    kind: InteractionKind
    event_id: str
    sender: Sender
    at: datetime
    chat_id: int = 0  # 0: not known from the update (a poll answer: the poll registry knows)
    poll_id: str = ""
    course_id: str = ""  # known from the update itself (a button's data), else found from the chat
    class_id: str = ""
    offer_id: str = ""  # a claim button's offer: its class is the offer's
    payload: Payload = field(default_factory=dict)


class InboundContext(Protocol):
    def course_of_chat(self, chat_id: int) -> str | None:
        """The course whose group this is; None for any other chat."""
        ...

    def learner_of(self, sender: Sender) -> str | None:
        """The learner id of a Telegram user; None for people who are not learners (teachers)."""
        ...

    def live_class(self, course_id: str) -> str:
        """The id of the course's live class; "" when none is live."""
        ...

    def poll(self, poll_id: str) -> PollRef | None:
        """Where the bot sent a poll; None for polls that are not the bot's."""
        ...

    def knows_class(self, course_id: str, class_id: str) -> bool:
        """Whether a class named by a button exists (button data comes back from the user's side)."""
        ...

    def offer_class(self, course_id: str, offer_id: str) -> str | None:
        """The class of a flash offer; None for an offer that does not exist."""
        ...


@dataclass(frozen=True, slots=True)
class Place:
    """Where an event counts: the chat, the course and the class (empty outside a class)."""

    chat_id: int
    course_id: str
    class_id: str


def place(event: Event, ctx: InboundContext) -> Place | None:
    """Where an event counts, or None when it belongs to no course."""
    if event.poll_id:
        poll = ctx.poll(event.poll_id)
        return Place(poll.chat_id, poll.course_id, poll.class_id) if poll is not None else None
    if event.offer_id:
        class_id = ctx.offer_class(event.course_id, event.offer_id)
        return Place(event.chat_id, event.course_id, class_id) if class_id is not None else None
    if event.course_id:
        known = ctx.knows_class(event.course_id, event.class_id)
        return Place(event.chat_id, event.course_id, event.class_id) if known else None
    course_id = ctx.course_of_chat(event.chat_id)
    return Place(event.chat_id, course_id, ctx.live_class(course_id)) if course_id else None


def map_update(
    update: Update, ctx: InboundContext, *, bot_id: int, received_at: datetime, bot_username: str = ""
) -> list[Interaction]:
    return to_interactions(
        read_update(update, bot_id=bot_id, received_at=received_at, bot_username=bot_username), ctx
    )


def update_event_id(bot_id: int, update_id: int) -> str:
    """The id intake knows an update by: a redelivered update gets the same one, so it counts once."""
    return f"{bot_id}:u{update_id}"


def read_update(update: Update, *, bot_id: int, received_at: datetime, bot_username: str = "") -> list[Event]:
    """The events in an update; `received_at` dates those Telegram sends undated (button presses, votes)."""
    event_id = update_event_id(bot_id, update.update_id)
    if update.message is not None:
        return _message(update.message, event_id, bot_id, bot_username)
    if update.message_reaction is not None:
        return _reaction(update.message_reaction, event_id)
    if update.poll_answer is not None:
        return _poll_answer(update.poll_answer, event_id, received_at)
    if update.callback_query is not None:
        return _button(update.callback_query, event_id, received_at)
    if update.chat_member is not None:
        return _member_change(update.chat_member, bot_id)
    return []


def to_interactions(events: Sequence[Event], ctx: InboundContext) -> list[Interaction]:
    interactions: list[Interaction] = []
    for event in events:
        where = place(event, ctx)
        if where is None:
            continue  # not a course chat, someone else's poll, a button of no known class
        learner_id = ctx.learner_of(event.sender)
        if learner_id is None:
            continue
        interactions.append(
            Interaction(
                kind=event.kind,
                platform=Platform.TELEGRAM,
                event_id=event.event_id,
                course_id=where.course_id,
                learner_id=learner_id,
                at=event.at,
                chat_id=str(where.chat_id) if where.chat_id else "",
                class_id=where.class_id,
                payload=event.payload,
            )
        )
    return interactions


def _person(user: User | None) -> Sender | None:
    # Bots (including GroupAnonymousBot, which stands in for anonymous admins) are nobody's learners.
    return None if user is None or user.is_bot else Sender.of(user)


def _message(message: Message, event_id: str, bot_id: int, bot_username: str) -> list[Event]:
    if message.chat.type not in ("group", "supergroup") or message.sender_chat is not None:
        return []
    if message.new_chat_members:
        return [
            _membership(K.JOIN, message.chat.id, sender, message.date, bot_id)
            for user in message.new_chat_members
            if (sender := _person(user)) is not None
        ]
    if message.left_chat_member is not None:
        sender = _person(message.left_chat_member)
        return [_membership(K.LEAVE, message.chat.id, sender, message.date, bot_id)] if sender else []
    sender = _person(message.from_user)
    if sender is None or message.is_automatic_forward or message.content_type not in _CONTENT:
        return []
    text = message.text or message.caption or ""
    kind = K.MESSAGE
    payload: dict[str, str | int | float] = {
        "length": len(text),
        "content": ContentType(message.content_type).value,
    }
    command = _COMMAND.match(text)
    if command is not None:
        name, addressee = command.group(1).lower(), command.group(2)
        asked = text[command.end() :].strip()
        if name != "ask" or (addressee and addressee.lower() != bot_username.lower()) or not asked:
            return []  # other commands are not chat: their handlers deal with them
        kind, text = K.QUESTION, asked
    elif is_question(text):
        kind = K.QUESTION
    if kind is K.QUESTION:
        payload = {"length": len(text), "text": question_text(text)}
    reply = message.reply_to_message
    if reply is not None:
        payload["reply_to"] = reply.message_id
        if reply.from_user is not None and reply.from_user.id == bot_id:
            payload["reply_to_bot"] = 1
    return [Event(kind, event_id, sender, message.date, chat_id=message.chat.id, payload=payload)]


def _membership(kind: InteractionKind, chat_id: int, sender: Sender, at: datetime, bot_id: int) -> Event:
    event_id = f"{bot_id}:{kind.value}:{chat_id}:{sender.user_id}:{int(at.timestamp())}"
    return Event(kind, event_id, sender, at, chat_id=chat_id)


def _member_change(change: ChatMemberUpdated, bot_id: int) -> list[Event]:
    sender = _person(change.new_chat_member.user)
    if sender is None or change.chat.type not in ("group", "supergroup"):
        return []
    was = _is_member(change.old_chat_member.status, change.old_chat_member)
    now = _is_member(change.new_chat_member.status, change.new_chat_member)
    if was == now:
        return []
    return [_membership(K.JOIN if now else K.LEAVE, change.chat.id, sender, change.date, bot_id)]


def _is_member(status: str, member: object) -> bool:
    # A restricted user is still in the group when Telegram says so.
    return status in _MEMBER_STATUSES or (
        status == "restricted" and bool(getattr(member, "is_member", False))
    )


def _reaction(reaction: MessageReactionUpdated, event_id: str) -> list[Event]:
    sender = _person(reaction.user)
    if sender is None:
        return []  # an anonymous reaction (actor_chat): nobody to credit
    added = [
        r
        for r in map(_reaction_label, reaction.new_reaction)
        if r not in set(map(_reaction_label, reaction.old_reaction))
    ]
    if not added:
        return []  # a reaction taken back
    payload: Payload = {"emoji": added[0], "message_id": reaction.message_id}
    return [Event(K.REACTION, event_id, sender, reaction.date, chat_id=reaction.chat.id, payload=payload)]


def _reaction_label(reaction: ReactionTypeEmoji | ReactionTypeCustomEmoji | ReactionTypePaid) -> str:
    if isinstance(reaction, ReactionTypeEmoji):
        return reaction.emoji
    if isinstance(reaction, ReactionTypeCustomEmoji):
        return f"custom:{reaction.custom_emoji_id}"
    return "paid"


def _poll_answer(answer: PollAnswer, event_id: str, at: datetime) -> list[Event]:
    sender = _person(answer.user)
    if sender is None or not answer.option_ids:
        return []  # an anonymous voter chat, or a vote taken back
    payload = {"poll_id": answer.poll_id, "options": ",".join(map(str, answer.option_ids))}
    return [Event(K.POLL_ANSWER, event_id, sender, at, poll_id=answer.poll_id, payload=payload)]


def _button(query: CallbackQuery, event_id: str, at: datetime) -> list[Event]:
    """A press of one of the core's buttons (`bot.domain.callbacks`): joining a class, claiming an offer."""
    sender = _person(query.from_user)
    press = Callback.parse(query.data or "")
    if sender is None or press is None or not press.target:
        return []
    chat_id = query.message.chat.id if query.message is not None else 0
    if press.action is Action.JOIN:
        return [
            Event(K.JOIN, event_id, sender, at, chat_id, course_id=press.course_id, class_id=press.target)
        ]
    if press.action is Action.CLAIM:
        payload = {"offer": press.target}
        return [
            Event(
                K.OFFER_CLICK,
                event_id,
                sender,
                at,
                chat_id,
                course_id=press.course_id,
                offer_id=press.target,
                payload=payload,
            )
        ]
    return []  # opening the private chat is not taking part in a class
