"""The Telegram bot assembled from the core: messenger, middlewares and routers, in one place.

    telegram = assemble(app, bot, links)
    app.messengers[Platform.TELEGRAM] = telegram.messenger
    await telegram.dispatcher.start_polling(bot, allowed_updates=list(INTAKE_UPDATES), ...)

Every update passes, in order: `InFlight` (counted while handled), `DedupUpdates` (once per update id),
`IntakeMiddleware` (what learners did, recorded), then the routers: teacher commands in groups, questions
in groups, learner commands in private chats.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats

from adapters.telegram.answers import Answers
from adapters.telegram.context import ContextResolver
from adapters.telegram.deeplink import DeepLinks
from adapters.telegram.governor import RateGovernor
from adapters.telegram.intake import IntakeMiddleware, TelegramIntake
from adapters.telegram.messenger import TelegramMessenger
from adapters.telegram.middlewares import InFlight
from adapters.telegram.parts import TelegramParts
from adapters.telegram.polls import PollRegistry
from adapters.telegram.routers import learner, questions, teacher
from adapters.telegram.teachers import TeacherCheck
from adapters.telegram.updates import DedupUpdates, SeenUpdates
from bot.app import App
from bot.usecases.countdown import OfferCountdowns, Sleep

log = logging.getLogger(__name__)

PRIVATE_MENU = (
    BotCommand(command="start", description="Get class links and offers from me"),
    BotCommand(command="mycoupons", description="Your personal coupons"),
    BotCommand(command="stop", description="No more offers or reminders"),
    BotCommand(command="resume", description="Offers and reminders again"),
    BotCommand(command="link", description="Link your Discord account"),
    BotCommand(command="help", description="What I can do"),
)
GROUP_MENU = (
    BotCommand(command="ask", description="Ask the teacher a question"),
    BotCommand(command="live", description="Teachers: go live with a stream URL"),
    BotCommand(command="poll", description="Teachers: question | option | option"),
    BotCommand(command="offer", description="Teachers: a flash offer, coupon pool and minutes"),
    BotCommand(command="stats", description="Teachers: live stats, in private"),
    BotCommand(command="hot", description="Teachers: hot leads and why, in private"),
    BotCommand(command="why", description="Teachers: why a learner scores as they do, in private"),
    BotCommand(command="end", description="Teachers: end the live class"),
    BotCommand(command="schedule", description="Teachers: schedule a class, when and title"),
)


@dataclass(frozen=True)
class TelegramBot:
    bot: Bot
    dispatcher: Dispatcher
    messenger: TelegramMessenger
    countdowns: OfferCountdowns
    in_flight: InFlight

    async def publish_commands(self) -> None:
        """The command menus Telegram shows (best effort: the bot works without them)."""
        try:
            await self.bot.set_my_commands(list(PRIVATE_MENU), scope=BotCommandScopeAllPrivateChats())
            await self.bot.set_my_commands(list(GROUP_MENU), scope=BotCommandScopeAllGroupChats())
        except TelegramAPIError as exc:
            log.warning("telegram: the command menus were not set: %s", exc.message)


def assemble(app: App, bot: Bot, links: DeepLinks, *, sleep: Sleep = asyncio.sleep) -> TelegramBot:
    """The bot for `app`; `links` must know the bot's username (the t.me links need it)."""
    settings = app.config.telegram
    prefix = app.config.storage.key_prefix
    polls = PollRegistry(app.store.client, prefix)
    messenger = TelegramMessenger(
        bot,
        RateGovernor(settings.limits),
        polls=polls,
        links=links,
        clock=app.clock,
        link_valid_for=settings.link_valid_for,
    )
    countdowns = OfferCountdowns(messenger, app.config, app.clock, sleep)
    parts = TelegramParts(
        app.config,
        app.clock,
        app.teacher,
        app.learner,
        app.linking,
        app.store.classes,
        links,
        Answers(messenger, countdowns, links.bot_username),
    )
    resolver = ContextResolver(app.config, app.store.learners, app.store.classes, polls, app.store.offers)
    intake = TelegramIntake(
        resolver, app.store.intake, app.clock, bot_id=bot.id, bot_username=links.bot_username
    )
    in_flight = InFlight()
    dispatcher = Dispatcher(parts=parts)
    dispatcher.update.outer_middleware(in_flight)
    dispatcher.update.outer_middleware(DedupUpdates(SeenUpdates(app.store.client, prefix)))
    dispatcher.update.outer_middleware(IntakeMiddleware(intake))
    chats = parts.courses_by_chat
    dispatcher.include_routers(
        teacher.make_router(chats, TeacherCheck(bot, app.config)),
        questions.make_router(),
        learner.make_router(chats),
    )
    return TelegramBot(bot, dispatcher, messenger, countdowns, in_flight)
