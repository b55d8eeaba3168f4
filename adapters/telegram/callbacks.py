"""The data carried by the bot's callback buttons: which press it is, for which course, class and offer.

`<o|l>:<course>:<class>[:<ref>]`, at most 64 bytes (Telegram's limit for callback data). The course and class
are written into the button so that a press on an old button is credited to the class it was shown in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain import InteractionKind

MAX_CALLBACK_BYTES = 64


class Press(StrEnum):
    OFFER = "o"  # the claim button of an offer
    LINK = "l"  # a button that opens the class link through the bot

    @property
    def kind(self) -> InteractionKind:
        return InteractionKind.OFFER_CLICK if self is Press.OFFER else InteractionKind.LINK_CLICK


@dataclass(frozen=True, slots=True)
class ButtonPress:
    press: Press
    course_id: str
    class_id: str
    ref: str = ""


def callback_data(press: Press, course_id: str, class_id: str, ref: str = "") -> str:
    """The callback data of a button; raises ValueError when it does not fit in 64 bytes or is ambiguous."""
    parts = [press.value, course_id, class_id, *([ref] if ref else [])]
    if any(":" in p for p in parts[1:]) or not course_id or not class_id:
        raise ValueError("a button needs a course and a class, and no part of its data may contain ':'")
    data = ":".join(parts)
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data {data!r} is longer than Telegram's {MAX_CALLBACK_BYTES} bytes")
    return data


def parse_callback(data: str) -> ButtonPress | None:
    """The press a button's data stands for; None for data that is not ClassPulse's."""
    parts = data.split(":")
    if len(parts) not in (3, 4) or parts[0] not in {p.value for p in Press} or not all(parts[1:3]):
        return None
    return ButtonPress(Press(parts[0]), parts[1], parts[2], parts[3] if len(parts) == 4 else "")
