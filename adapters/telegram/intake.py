"""Feeding intake from Telegram: every update passes an outer middleware that records what learners did.

It runs before any handler (commands are answered by their routers; the interaction is recorded here, once,
whatever handler runs), after the `update_id` dedup. If recording fails the update fails, so that the dedup
mark is released and Telegram's redelivery tries again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from adapters.telegram.context import ContextResolver
from adapters.telegram.inbound import read_update, to_interactions
from bot.ports import Clock, IngestResult, Intake

# The update types intake reads; a bot must ask for them (allowed_updates), some are not sent by default.
INTAKE_UPDATES = ("message", "message_reaction", "poll_answer", "callback_query", "chat_member")


class TelegramIntake:
    def __init__(
        self, resolver: ContextResolver, intake: Intake, clock: Clock, *, bot_id: int, bot_username: str = ""
    ) -> None:
        self._resolver = resolver
        self._intake = intake
        self._clock = clock
        self.bot_id = bot_id
        self.bot_username = bot_username

    async def record(self, update: Update) -> IngestResult:
        events = read_update(
            update, bot_id=self.bot_id, received_at=self._clock.now(), bot_username=self.bot_username
        )
        if not events:
            return IngestResult(0, 0)
        interactions = to_interactions(events, await self._resolver.resolve(events))
        return await self._intake.ingest(interactions)


class IntakeMiddleware(BaseMiddleware):
    """Register after the dedup: `dispatcher.update.outer_middleware(IntakeMiddleware(telegram_intake))`."""

    def __init__(self, intake: TelegramIntake) -> None:
        self._intake = intake

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update):
            await self._intake.record(event)
        return await handler(event, data)
