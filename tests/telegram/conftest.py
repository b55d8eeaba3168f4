"""Fixtures for the Telegram adapter: the Bot API emulator, a real aiogram Bot talking to it, a governor."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot

from adapters.telegram.governor import RateGovernor
from adapters.telegram.messenger import TelegramMessenger
from bot.config.telegram import TelegramLimits
from tests.emulators.telegram_api import MakeEmulator, TelegramEmulator


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
