"""Fixtures for the Discord adapter: the REST emulator on a local port, and a real discord.py client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import pytest
from aiohttp.test_utils import TestServer

from tests.emulators.discord_api import DiscordEmulator
from tests.emulators.discord_gateway import GatewayFeed, Server

# Route buckets 20x faster than Discord's (messages: 5 per 0.25 s per channel), so pacing tests take moments.
TIME_SCALE = 0.05


@pytest.fixture
def emulator() -> DiscordEmulator:
    return DiscordEmulator(time_scale=TIME_SCALE)


@pytest.fixture
async def discord_api(
    emulator: DiscordEmulator, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[DiscordEmulator]:
    """The emulator, served; discord.py builds every REST URL from Route.BASE, so all its calls go there."""
    server = TestServer(emulator.app)
    await server.start_server()
    monkeypatch.setattr(discord.http.Route, "BASE", emulator.base_url(server))
    yield emulator
    await server.close()


def intents(*, message_content: bool = True) -> discord.Intents:
    chosen = discord.Intents.default()
    chosen.members = True
    chosen.message_content = message_content
    return chosen


@pytest.fixture
async def client(discord_api: DiscordEmulator) -> AsyncIterator[discord.Client]:
    """A real discord.py client, logged in against the emulator (no gateway connection)."""
    bot = discord.Client(intents=intents(), guild_ready_timeout=0.01)
    await bot.login(discord_api.token)
    yield bot
    await bot.close()


@pytest.fixture
def server(emulator: DiscordEmulator) -> Server:
    return Server(name="Python 101")


@pytest.fixture
def feed(client: discord.Client, discord_api: DiscordEmulator) -> GatewayFeed:
    return GatewayFeed(client, discord_api)
