"""Building the aiogram `Bot` from the `[telegram]` configuration (any Bot API server, one timeout)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.config.telegram import TelegramConfig


def make_bot(token: str, config: TelegramConfig) -> Bot:
    """A Bot talking to `config.api_server`; every request gives up after `config.request_timeout`."""
    session = AiohttpSession(
        api=TelegramAPIServer.from_base(config.api_server),
        timeout=config.request_timeout.total_seconds(),
    )
    return Bot(token, session=session)
