"""A learner: one person, whatever platforms they use."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain.platforms import Identity, Platform


@dataclass(frozen=True, slots=True)
class Learner:
    id: str
    name: str = ""
    language: str = ""
    identities: tuple[Identity, ...] = ()
    opted_out: bool = False
    # Platforms on which the bot may write to the learner privately (Telegram: they started the bot).
    reachable: frozenset[Platform] = field(default_factory=frozenset)
    # Platforms on which a private message was refused for good (blocked, closed DMs).
    unreachable: frozenset[Platform] = field(default_factory=frozenset)
    last_platform: Platform | None = None
    # An IANA time zone name; empty: the course's. Campaign guards count days and quiet hours in it.
    timezone: str = ""
    # Learner ids that were merged into this one when the learner linked their accounts.
    aliases: tuple[str, ...] = ()

    def identity_on(self, platform: Platform) -> Identity | None:
        return next((i for i in self.identities if i.platform is platform), None)

    @property
    def display_name(self) -> str:
        return self.name or self.id
