"""What ClassPulse sends, and what became of it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.platforms import Platform


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button: either opens `url`, or sends `callback` back to the bot."""

    label: str
    url: str = ""
    callback: str = ""

    def __post_init__(self) -> None:
        if bool(self.url) == bool(self.callback):
            raise ValueError("a Button needs exactly one of url or callback")


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A message ready for one platform: `text` is already rendered and escaped for it.

    `key` is the idempotency key: the dispatcher delivers each key at most once.
    """

    key: str
    platform: Platform
    chat_id: str
    text: str
    private: bool = True
    learner_id: str = ""
    course_id: str = ""
    campaign_id: str = ""
    step_id: str = ""
    class_id: str = ""
    promotional: bool = False
    buttons: tuple[Button, ...] = ()
    edit_message_id: str = ""  # when set, edit this earlier message instead of sending a new one
    coupon_code: str = ""
    # When the learner cannot be reached privately, mention them in the course chat instead.
    fallback_to_group: bool = False
    # Pin the message in its chat where the platform and the bot's rights allow (a failed pin is logged).
    pin: bool = False
    variant: str = ""  # the experiment arm of the campaign step that made the message


class DeliveryStatus(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # rate limited, server error, timeout: try again later
    UNREACHABLE = "unreachable"  # the learner blocked the bot or closed DMs: never retry on this platform
    DROPPED = "dropped"  # the chat is gone or the message cannot be delivered: never retry


@dataclass(frozen=True, slots=True)
class Delivery:
    status: DeliveryStatus
    message_id: str = ""
    retry_after: float = 0.0
    reason: str = ""

    @classmethod
    def delivered(cls, message_id: str = "") -> Delivery:
        return cls(DeliveryStatus.DELIVERED, message_id=message_id)

    @classmethod
    def retry(cls, reason: str, after: float = 0.0) -> Delivery:
        return cls(DeliveryStatus.RETRY, retry_after=after, reason=reason)

    @classmethod
    def unreachable(cls, reason: str) -> Delivery:
        return cls(DeliveryStatus.UNREACHABLE, reason=reason)

    @classmethod
    def dropped(cls, reason: str) -> Delivery:
        return cls(DeliveryStatus.DROPPED, reason=reason)
