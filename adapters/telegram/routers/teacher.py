"""Teacher commands in a course group: /schedule, /live, /end, /poll, /offer, /stats, /hot, /why.

Parsing, permissions and the answers are the core's (`TeacherCommands`); this router finds the course of
the group and the asker (`CommandContext`), and sends the answer where it belongs (`Answers`): /stats and
/hot and /why to the teacher's private chat only, /poll as a native poll, /offer with its countdown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from adapters.telegram.middlewares import CommandContext
from adapters.telegram.parts import TelegramParts
from adapters.telegram.routers import GROUP_CHATS, TEACHER_COMMANDS, reply_key
from adapters.telegram.teachers import TeacherCheck
from bot.usecases.replies import Actor, Reply, answer
from bot.usecases.teacher import TeacherCommands

Run = Callable[[TeacherCommands, Actor, str, str], Awaitable[Reply]]
RUN: Mapping[str, Run] = {
    "schedule": TeacherCommands.schedule,
    "live": TeacherCommands.live,
    "end": TeacherCommands.end,
    "poll": TeacherCommands.poll,
    "offer": TeacherCommands.offer,
    "stats": TeacherCommands.stats,
    "hot": TeacherCommands.hot,
    "why": TeacherCommands.why,
}
assert set(RUN) == set(TEACHER_COMMANDS)

ANONYMOUS = (
    "I cannot tell which admin sent that: teacher commands need your own account. Turn off "
    '"Remain anonymous" in your admin rights, or send the command from your own account.'
)


def make_router(courses_by_chat: Mapping[int, str], teachers: TeacherCheck) -> Router:
    router = Router(name="teacher-commands")
    router.message.filter(F.chat.type.in_(GROUP_CHATS))
    router.message.middleware(CommandContext(courses_by_chat, teachers))
    router.message.register(teacher_command, Command(*TEACHER_COMMANDS, ignore_case=True))
    return router


async def teacher_command(
    message: Message, command: CommandObject, actor: Actor, course_id: str, parts: TelegramParts
) -> None:
    name = command.command.lower()
    chat_id = message.chat.id
    if message.sender_chat is not None:
        reply = Reply.refusal(ANONYMOUS)
    elif not course_id:
        reply = Reply.refusal(
            f"This group is not linked to a course yet: add {chat_id} to courses.<course>.telegram_chats "
            "in the ClassPulse configuration."
        )
    else:
        reply = await answer(RUN[name](parts.teacher, actor, course_id, command.args or ""))
    asker = int(actor.identity.user_id)
    await parts.answers.command(
        chat_id, asker, actor.name, name, reply, reply_key(chat_id, message.message_id)
    )
