"""discord.py events to neutral Interactions: pure functions of the event and what the core knows about it.

Every `event_id` is made of Discord snowflakes, so a gateway event delivered twice maps to the same id and
intake drops the copy. Platform objects stop here: what leaves is an `Interaction`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import discord

from bot.domain import Interaction, InteractionKind, Platform, is_question, question_text


@dataclass(frozen=True, slots=True)
class Seen:
    """Where an event happened and who did it, as the core knows them."""

    course_id: str
    learner_id: str
    class_id: str = ""  # the class live at the time, if any


def from_message(message: discord.Message, seen: Seen, *, content_intent: bool) -> Interaction:
    """A chat message. Without the message-content intent its text is unknown: counted, never a question."""
    text = message.content if content_intent else ""
    question = is_question(text)
    payload: dict[str, str | int | float] = {"length": len(text)} if content_intent else {}
    if question:
        payload["text"] = question_text(text)
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
    """The event id of a press of one of ClassPulse's buttons, under which the use case records it: the
    same press answered twice (a repeated gateway event) is recorded once."""
    return f"press:{interaction.id}"


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
