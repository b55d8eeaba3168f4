"""Fixtures for the Discord adapter: the REST emulator on a local port, and a real discord.py client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import pytest
from aiohttp.test_utils import TestServer

from bot.clock import ManualClock
from tests.discord.classroom import Classroom, classroom
from tests.discord.scene import Scene, intents
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


@pytest.fixture
def scene() -> Scene:
    """One course server: a teacher, learners, a class channel and a stage."""
    return Scene.build()


@pytest.fixture
async def room(
    discord_api: DiscordEmulator, redis_url: str, clock: ManualClock, scene: Scene
) -> AsyncIterator[Classroom]:
    """The real ClassPulse bot and App on the emulator, with a manual clock."""
    async with classroom(discord_api, redis_url, clock, scene) as running:
        yield running
