"""Fixtures for the Telegram adapter: the Bot API emulator, a real aiogram Bot talking to it, a governor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiogram import Bot

from adapters.telegram.governor import RateGovernor
from adapters.telegram.messenger import TelegramMessenger
from bot.clock import ManualClock
from bot.config.telegram import TelegramLimits
from tests.emulators.telegram_api import EmulatorLimits, MakeEmulator, TelegramEmulator
from tests.telegram.classroom import Classroom

OpenRoom = Callable[..., Awaitable[Classroom]]


@pytest.fixture
async def make_tg() -> AsyncIterator[MakeEmulator]:
    """Start emulators with custom settings: `tg = await make_tg(limits=EmulatorLimits(...))`."""
    started: list[TelegramEmulator] = []

    async def make(**kwargs: object) -> TelegramEmulator:
        emulator = TelegramEmulator(**kwargs)  # type: ignore[arg-type]
        await emulator.start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        await emulator.close()


@pytest.fixture
async def tg(make_tg: MakeEmulator) -> TelegramEmulator:
    return await make_tg()


@pytest.fixture
async def bot(tg: TelegramEmulator) -> AsyncIterator[Bot]:
    bot = tg.bot(timeout=2.0)
    yield bot
    await bot.session.close()


@pytest.fixture
def messenger(bot: Bot) -> TelegramMessenger:
    return TelegramMessenger(bot, RateGovernor(TelegramLimits()))


@pytest.fixture
async def open_room(make_tg: MakeEmulator, redis_url: str, clock: ManualClock) -> AsyncIterator[OpenRoom]:
    """Open a classroom on an emulator of its own, with `[telegram]` settings of the test's choosing.

    `private_chat_rate`: messages a second into one private chat, for the emulator and the governor alike.
    Telegram's is 1; the command tests use more so that a learner's answers do not each wait a second.
    """
    opened: list[Classroom] = []

    async def open_one(*, private_chat_rate: float = 20.0, **telegram: Any) -> Classroom:
        tg = await make_tg(limits=EmulatorLimits(per_private_chat_per_second=private_chat_rate))
        telegram.setdefault("limits", {"per_private_chat_per_second": private_chat_rate})
        room = await Classroom.open(tg, redis_url, clock, **telegram)
        opened.append(room)
        await room.start()
        return room

    yield open_one
    for room in opened:
        await room.close()


@pytest.fixture
async def room(open_room: OpenRoom) -> Classroom:
    """Python 101 on Telegram, the bot polling for updates."""
    return await open_room()
