"""What the bot's buttons send back, shared by every platform.

A callback is short text, `<action>:<course>:<target>`: Telegram turns the actions that need the private chat
(join, claim, start) into signed deep links; Discord answers them from persistent buttons. Keeping the format
here means both platforms agree on it, and a press on either one runs the same use case.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    JOIN = "join"  # target: class id — get my personal class link
    CLAIM = "claim"  # target: offer id — claim the flash offer
    START = "start"  # target: class id or "" — open the private chat (the group fallback's way in)


@dataclass(frozen=True, slots=True)
class Callback:
    action: Action
    course_id: str
    target: str = ""

    def encode(self) -> str:
        return f"{self.action.value}:{self.course_id}:{self.target}"

    @classmethod
    def parse(cls, data: str) -> Callback | None:
        """The callback in `data`, or None for anything that is not one of ours."""
        parts = data.split(":")
        if len(parts) != 3 or not parts[1]:
            return None
        try:
            return cls(Action(parts[0]), parts[1], parts[2])
        except ValueError:
            return None


def join(course_id: str, class_id: str) -> str:
    return Callback(Action.JOIN, course_id, class_id).encode()


def claim(course_id: str, offer_id: str) -> str:
    return Callback(Action.CLAIM, course_id, offer_id).encode()


def start(course_id: str, class_id: str = "") -> str:
    return Callback(Action.START, course_id, class_id).encode()
