"""A messenger that delivers into a list (and optionally prints): the demo's and the tests' platform."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from rich.console import Console
from rich.markup import escape

from bot import formatting
from bot.domain import Delivery, OutboundMessage, Platform
from bot.ports import Clock


@dataclass(frozen=True, slots=True)
class SentMessage:
    message: OutboundMessage
    rendered: str  # what the platform would display, escaped as it would be
    message_id: str
    at: datetime | None = None  # when it was sent, by the clock the messenger was given


class RecordingMessenger:
    """Records every message it is given; can be told which chats refuse (like a learner who blocked us)."""

    def __init__(
        self,
        platform: Platform,
        *,
        echo: Console | None = None,
        unreachable_chats: Iterable[str] = (),
        gone_chats: Iterable[str] = (),
        clock: Clock | None = None,
    ) -> None:
        self._platform = platform
        self._clock = clock
        self._echo = echo
        self.unreachable_chats = set(unreachable_chats)
        self.gone_chats = set(gone_chats)
        self.sent: list[SentMessage] = []
        self._ids = itertools.count(1)

    @property
    def platform(self) -> Platform:
        return self._platform

    async def send(self, message: OutboundMessage) -> Delivery:
        if message.chat_id in self.unreachable_chats:
            return Delivery.unreachable("the user blocked the bot")
        if message.chat_id in self.gone_chats:
            return Delivery.dropped("chat not found")
        rendered = formatting.render(message.text, self._platform)
        message_id = message.edit_message_id or str(next(self._ids))
        at = self._clock.now() if self._clock is not None else None
        self.sent.append(SentMessage(message, rendered, message_id, at))
        if self._echo is not None:
            where = "private" if message.private else "chat"
            label = f"[dim]{self._platform.value} {where} {message.chat_id}:[/dim]"
            # The text is the learner's and the admin's: print it as is, never as rich markup.
            self._echo.print(label, escape(formatting.plain(message.text)), highlight=False)
        return Delivery.delivered(message_id)

    def to_chat(self, chat_id: str) -> list[SentMessage]:
        return [s for s in self.sent if s.message.chat_id == chat_id]
