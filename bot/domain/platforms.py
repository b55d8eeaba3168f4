"""Where learners and teachers live: the chat platforms, and a person's identity on one of them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Platform(StrEnum):
    TELEGRAM = "telegram"
    DISCORD = "discord"
    WEB = "web"  # the stream relay's watch page and tracked links
    CONSOLE = "console"  # the demo and the tests


@dataclass(frozen=True, slots=True)
class Identity:
    """One account on one platform. A learner may own several (one per platform) after linking them."""

    platform: Platform
    user_id: str

    @property
    def key(self) -> str:
        return f"{self.platform.value}:{self.user_id}"

    @classmethod
    def parse(cls, key: str) -> Identity:
        platform, _, user_id = key.partition(":")
        if not user_id:
            raise ValueError(f"not an identity key: {key!r} (expected platform:user_id)")
        return cls(Platform(platform), user_id)

    def __str__(self) -> str:
        return self.key
