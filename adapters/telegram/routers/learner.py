"""Learner commands in the private chat: /start [payload], /stop, /resume, /mycoupons, /help, /link [code].

`/start` with a payload is the way in from a group: the signed deep links of the "Join the live class",
"Claim offer" and "Open my messages" buttons (`adapters.telegram.deeplink`). A payload that was altered,
made up or has expired is refused with the reason; the learner still counts as having started the bot
(Telegram lets the bot write to them from now on), but nothing else is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message

from adapters.telegram.deeplink import Refused
from adapters.telegram.middlewares import CommandContext
from adapters.telegram.parts import TelegramParts
from adapters.telegram.routers import TEACHER_COMMANDS, reply_key
from bot.domain import ClassState
from bot.domain.callbacks import Action, Callback
from bot.usecases.replies import Actor, Reply, answer

TEACHERS_IN_GROUP = "Teacher commands work in your course's group, where I know which course you mean."


def make_router(courses_by_chat: Mapping[int, str]) -> Router:
    router = Router(name="learner-commands")
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.middleware(CommandContext(courses_by_chat))
    router.message.register(start, CommandStart())
    router.message.register(stop, Command("stop", ignore_case=True))
    router.message.register(resume, Command("resume", ignore_case=True))
    router.message.register(my_coupons, Command("mycoupons", ignore_case=True))
    router.message.register(link, Command("link", ignore_case=True))
    router.message.register(teacher_command, Command(*TEACHER_COMMANDS, ignore_case=True))
    # /help, unknown commands and anything else written to the bot: what it can do.
    router.message.register(help_text, F.text)
    return router


async def _send(message: Message, parts: TelegramParts, *replies: Reply) -> None:
    key = reply_key(message.chat.id, message.message_id)
    for index, reply in enumerate(replies):
        await parts.answers.send(message.chat.id, reply, f"{key}:{index}" if index else key)


async def start(
    message: Message, command: CommandObject, actor: Actor, event_id: str, parts: TelegramParts
) -> None:
    payload = (command.args or "").strip()
    learner = parts.learner
    who, name, language = actor.identity, actor.name, actor.language
    if not payload:
        await _send(message, parts, await learner.start(who, event_id, name=name, language=language))
        return
    granted = parts.links.parse(payload, parts.clock.now())
    if isinstance(granted, Refused):
        await learner.start(who, event_id, name=name, language=language)
        refusal = f"Sorry, {granted.message}. Press the button in your course group again for a fresh one."
        await _send(message, parts, Reply.refusal(refusal))
        return
    press = granted.callback
    if press.action is Action.CLAIM:
        claim = learner.claim_offer(
            who, event_id, press.course_id, press.target, name=name, language=language
        )
        await _send(message, parts, await answer(claim))
    elif press.action is Action.JOIN:
        await _send(message, parts, await _join(parts, actor, event_id, press))
    else:
        await _send(message, parts, *await _open_messages(parts, actor, event_id, press))


async def _join(parts: TelegramParts, actor: Actor, event_id: str, press: Callback) -> Reply:
    return await answer(
        parts.learner.start(
            actor.identity,
            event_id,
            name=actor.name,
            language=actor.language,
            course_id=press.course_id,
            class_id=press.target,
        )
    )


async def _open_messages(parts: TelegramParts, actor: Actor, event_id: str, press: Callback) -> list[Reply]:
    """The group fallback's "Open my messages": what a step could not send privately.

    During a class that is the personal class link; after it, the learner's coupons.
    """
    session = await parts.classes.get(press.course_id, press.target) if press.target else None
    if session is not None and session.state is ClassState.LIVE:
        return [await _join(parts, actor, event_id, press)]
    learner = parts.learner
    welcome = learner.start(
        actor.identity, event_id, name=actor.name, language=actor.language, course_id=press.course_id
    )
    replies = [await answer(welcome)]
    learner_id = await learner.learners.resolve(actor.identity)
    if await learner.coupons.for_learner(learner_id):
        replies.append(await learner.my_coupons(actor.identity))
    return replies


async def stop(message: Message, actor: Actor, event_id: str, parts: TelegramParts) -> None:
    await _send(message, parts, await parts.learner.stop(actor.identity, event_id))


async def resume(message: Message, actor: Actor, event_id: str, parts: TelegramParts) -> None:
    await _send(message, parts, await parts.learner.resume(actor.identity, event_id))


async def my_coupons(message: Message, actor: Actor, parts: TelegramParts) -> None:
    await _send(message, parts, await parts.learner.my_coupons(actor.identity))


async def link(message: Message, command: CommandObject, actor: Actor, parts: TelegramParts) -> None:
    code = (command.args or "").strip()
    linking = parts.linking
    reply = await linking.confirm(actor.identity, code) if code else await linking.request(actor.identity)
    await _send(message, parts, reply)


async def teacher_command(message: Message, parts: TelegramParts) -> None:
    await _send(message, parts, Reply.refusal(TEACHERS_IN_GROUP))


async def help_text(message: Message, parts: TelegramParts) -> None:
    await _send(message, parts, await parts.learner.help())
