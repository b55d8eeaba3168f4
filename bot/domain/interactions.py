"""What learners do: the neutral record every adapter turns its platform's events into."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from bot.domain.platforms import Platform


class InteractionKind(StrEnum):
    MESSAGE = "message"
    QUESTION = "question"
    REACTION = "reaction"
    POLL_ANSWER = "poll_answer"
    LINK_CLICK = "link_click"
    WATCH_HEARTBEAT = "watch_heartbeat"  # payload["seconds"]: watch time this heartbeat stands for
    JOIN = "join"
    LEAVE = "leave"
    OFFER_CLICK = "offer_click"
    PURCHASE = "purchase"  # payload: order_id, amount, currency, coupon
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"


# A chat message ending in one of these is a question (full-width: Chinese and Japanese; inverted: Spanish).
QUESTION_MARKS = ("?", "？", "¿")
QUESTION_TEXT_KEPT = 300  # characters of a question kept in the event log, for the teacher to read


def is_question(text: str) -> bool:
    return text.rstrip().endswith(QUESTION_MARKS)


def question_text(text: str) -> str:
    """What the event log keeps of a question."""
    return text.strip()[:QUESTION_TEXT_KEPT]


# The kinds that count as taking part in a class (the "interactions" of the seeds' engagement score).
PARTICIPATION_KINDS: frozenset[InteractionKind] = frozenset(
    {
        InteractionKind.MESSAGE,
        InteractionKind.QUESTION,
        InteractionKind.REACTION,
        InteractionKind.POLL_ANSWER,
        InteractionKind.LINK_CLICK,
        InteractionKind.OFFER_CLICK,
    }
)


@dataclass(frozen=True, slots=True)
class Interaction:
    """One thing one learner did, once. `event_id` is unique per platform and makes redelivery harmless."""

    kind: InteractionKind
    platform: Platform
    event_id: str
    course_id: str
    learner_id: str
    at: datetime
    chat_id: str = ""
    class_id: str = ""  # empty outside a class
    payload: Mapping[str, str | int | float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("Interaction.at must be timezone-aware")
        if not self.event_id:
            raise ValueError("Interaction.event_id must not be empty")
        # Frozen all the way down: nobody downstream may change what happened.
        object.__setattr__(self, "payload", MappingProxyType(dict(self.payload)))

    @property
    def dedup_key(self) -> str:
        return f"{self.platform.value}:{self.event_id}"
