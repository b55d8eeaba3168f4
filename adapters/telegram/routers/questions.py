"""`/ask <question>` in a course group.

The question itself is recorded by the intake middleware, like any message ending in "?". The bot stays
quiet when it is asked well: a group takes at most 20 messages a minute from a bot, and those are kept
for the class (announcements, polls, offers). Only `/ask` without a question gets the usage.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from adapters.telegram.parts import TelegramParts
from adapters.telegram.routers import GROUP_CHATS, reply_key
from bot.usecases.replies import Reply

USAGE = (
    "Ask after the command, in the same message.\nUsage: /ask <question>\nExample: /ask What is a closure?"
)


def make_router() -> Router:
    router = Router(name="questions")
    router.message.filter(F.chat.type.in_(GROUP_CHATS))
    router.message.register(ask, Command("ask", ignore_case=True))
    return router


async def ask(message: Message, command: CommandObject, parts: TelegramParts) -> None:
    if not (command.args or "").strip():
        await parts.answers.send(
            message.chat.id, Reply.refusal(USAGE), reply_key(message.chat.id, message.message_id)
        )
