"""The rate governor's own rules: bounded memory, pauses that only grow, and sends held while paused."""

from __future__ import annotations

import asyncio

from adapters.telegram.governor import RateGovernor
from bot.config.telegram import TelegramLimits


async def test_per_chat_state_stays_within_its_bound() -> None:
    governor = RateGovernor(TelegramLimits(per_bot_per_second=1000), max_chats=64)
    for chat_id in range(1, 501):
        async with governor.slot(chat_id, private=True):
            pass
    for chat_id in range(-1, -201, -1):
        async with governor.slot(chat_id, private=False):
            pass
    assert governor.stats.sends == 700
    assert governor.stats.chats_tracked == 128  # 64 private chats and 64 groups, however many were served


def test_the_default_bound_outlasts_every_limit() -> None:
    governor = RateGovernor(TelegramLimits(per_bot_per_second=30))
    # A group's bucket drains in a minute, in which the bot reaches at most 30 * 60 groups.
    assert governor._groups.capacity >= 30 * 60
    assert governor._private.capacity >= 30


async def test_a_pause_is_never_shortened() -> None:
    governor = RateGovernor()
    governor.pause(60)
    governor.pause(1)
    assert governor.paused_for > 59
    assert governor.stats.pauses == 1


async def test_no_send_is_admitted_while_the_bot_is_paused() -> None:
    governor = RateGovernor()
    governor.pause(60)
    admitted = asyncio.Event()

    async def send() -> None:
        async with governor.slot(7, private=True):
            admitted.set()

    task = asyncio.ensure_future(send())
    await asyncio.sleep(0.1)
    assert not admitted.is_set()
    task.cancel()
    assert governor.stats.sends == 0
