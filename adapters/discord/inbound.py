"""discord.py events to neutral Interactions: pure functions of the event and what the core knows about it.

Every `event_id` is made of Discord snowflakes, so a gateway event delivered twice maps to the same id and
intake drops the copy. Platform objects stop here: what leaves is an `Interaction`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import discord

from bot.domain import Interaction, InteractionKind, Platform

QUESTION_MARKS = ("?", "？")  # a full-width question mark ends questions in Chinese and Japanese
QUESTION_TEXT_KEPT = 300  # characters of a question kept in the event log, for the teacher to read

# What pressing one of ClassPulse's buttons means; its custom_id is "<action>:<course>:<class>", the callback
# the core puts on a Button. "join" is what the learner use case records as JOIN too, under the same event id.
PRESS_KINDS = {"join": InteractionKind.JOIN, "offer": InteractionKind.OFFER_CLICK}


@dataclass(frozen=True, slots=True)
class Seen:
    """Where an event happened and who did it, as the core knows them."""

    course_id: str
    learner_id: str
    class_id: str = ""  # the class live at the time, if any


@dataclass(frozen=True, slots=True)
class Press:
    """A press of one of ClassPulse's own buttons."""

    action: str
    course_id: str
    class_id: str

    @property
    def kind(self) -> InteractionKind:
        return PRESS_KINDS[self.action]


def parse_press(custom_id: str) -> Press | None:
    """The meaning of a button's custom_id, or None when it is not one of ClassPulse's buttons."""
    parts = custom_id.split(":")
    if len(parts) != 3 or parts[0] not in PRESS_KINDS or not parts[1] or not parts[2]:
        return None
    return Press(*parts)


def is_question(text: str) -> bool:
    return text.rstrip().endswith(QUESTION_MARKS)


def from_message(message: discord.Message, seen: Seen, *, content_intent: bool) -> Interaction:
    """A chat message. Without the message-content intent its text is unknown: counted, never a question."""
    text = message.content if content_intent else ""
    question = is_question(text)
    payload: dict[str, str | int | float] = {"length": len(text)} if content_intent else {}
    if question:
        payload["text"] = text.strip()[:QUESTION_TEXT_KEPT]
    return Interaction(
        kind=InteractionKind.QUESTION if question else InteractionKind.MESSAGE,
        platform=Platform.DISCORD,
        event_id=f"msg:{message.id}",
        course_id=seen.course_id,
        learner_id=seen.learner_id,
        at=message.created_at,
        chat_id=str(message.channel.id),
        class_id=seen.class_id,
        payload=payload,
    )


def from_reaction(event: discord.RawReactionActionEvent, seen: Seen, at: datetime) -> Interaction:
    """A reaction added; one per person, message and emoji (removed and added again: no new reaction)."""
    emoji = str(event.emoji.id or event.emoji.name)
    return Interaction(
        kind=InteractionKind.REACTION,
        platform=Platform.DISCORD,
        event_id=f"rx:{event.message_id}:{event.user_id}:{emoji}",
        course_id=seen.course_id,
        learner_id=seen.learner_id,
        at=at,
        chat_id=str(event.channel_id),
        class_id=seen.class_id,
        payload={"emoji": str(event.emoji)},
    )


def from_poll_vote(event: discord.RawPollVoteActionEvent, seen: Seen, at: datetime) -> Interaction:
    """A poll answered. One answer per person and poll, as on Telegram, even when several may be chosen."""
    return Interaction(
        kind=InteractionKind.POLL_ANSWER,
        platform=Platform.DISCORD,
        event_id=f"poll:{event.message_id}:{event.user_id}",
        course_id=seen.course_id,
        learner_id=seen.learner_id,
        at=at,
        chat_id=str(event.channel_id),
        class_id=seen.class_id,
        payload={"poll": str(event.message_id), "answer": event.answer_id},
    )


def press_event_id(interaction: discord.Interaction) -> str:
    """The event id of a button press; whoever records the press (this adapter, a use case) uses this one."""
    return f"press:{interaction.id}"


def from_press(interaction: discord.Interaction, press: Press, learner_id: str) -> Interaction:
    """A press of a ClassPulse button: it names its course and class itself (it may be pressed in a DM)."""
    return Interaction(
        kind=press.kind,
        platform=Platform.DISCORD,
        event_id=press_event_id(interaction),
        course_id=press.course_id,
        learner_id=learner_id,
        at=interaction.created_at,
        chat_id=str(interaction.channel_id or ""),
        class_id=press.class_id,
        payload={"button": press.action},
    )


def from_member_join(member: discord.Member, seen: Seen, at: datetime) -> Interaction:
    """Someone joined the course's server: they are now one of its learners (no class attended yet)."""
    joined = member.joined_at or at
    return Interaction(
        kind=InteractionKind.JOIN,
        platform=Platform.DISCORD,
        event_id=f"member:{member.guild.id}:{member.id}:{int(joined.timestamp() * 1000)}",
        course_id=seen.course_id,
        learner_id=seen.learner_id,
        at=joined,
        chat_id=str(member.guild.id),
        payload={"where": "server"},
    )
