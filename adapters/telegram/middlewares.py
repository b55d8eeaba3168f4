"""Cross-cutting work on updates: counting those being handled, and who is asking in which course.

The update-level middlewares (in order): `InFlight` counts updates under way (a stopping bot waits for
them), then `updates.DedupUpdates` and `intake.IntakeMiddleware`. `CommandContext` runs inside the command
routers and gives each handler the asker as an `Actor`, the course of the chat and an event id.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject, Update

from adapters.telegram.inbound import update_event_id
from adapters.telegram.teachers import TeacherCheck
from bot.domain import Identity, Platform
from bot.usecases.replies import Actor

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class InFlight(BaseMiddleware):
    """Register first: `dispatcher.update.outer_middleware(in_flight)`."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        self.count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self.count -= 1
            if not self.count:
                self._idle.set()

    async def idle(self, grace: float) -> bool:
        """Wait up to `grace` seconds for the updates under way; True when none is left."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace)
        return not self.count


def event_id(data: Mapping[str, Any]) -> str:
    """The id intake knows an update by: a redelivery gets the same one."""
    update: Update = data["event_update"]
    return update_event_id(data["bot"].id, update.update_id)


class CommandContext(BaseMiddleware):
    """Gives message handlers `actor`, `course_id` ("" outside a course group) and `event_id`.

    With a `TeacherCheck`, a group admin is an admin teacher when the configuration allows it.
    """

    def __init__(self, courses_by_chat: Mapping[int, str], teachers: TeacherCheck | None = None) -> None:
        self._courses_by_chat = courses_by_chat
        self._teachers = teachers

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Message) or event.from_user is None:
            return await handler(event, data)
        user = event.from_user
        course_id = self._courses_by_chat.get(event.chat.id, "")
        admin = False
        if self._teachers is not None and not self._teachers.is_configured_teacher(course_id, user.id):
            admin = await self._teachers.is_admin_teacher(course_id, event.chat.id, user.id)
        data["actor"] = Actor(
            Identity(Platform.TELEGRAM, str(user.id)), user.full_name, user.language_code or "", admin
        )
        data["course_id"] = course_id
        data["event_id"] = event_id(data)
        return await handler(event, data)
