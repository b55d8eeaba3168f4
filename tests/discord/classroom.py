"""A course server with the whole ClassPulse Discord bot in it: the real core (Redis, campaigns, dispatcher on
a manual clock), the real bot logged in to the REST emulator, events fed through discord.py's own parsing.

The stage of the command, button and end-to-end tests: people run slash commands and press buttons as
gateway INTERACTION_CREATE payloads; what the bot answered is read back from the emulator.
"""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from adapters.console import RecordingMessenger
from adapters.discord.bot import BotParts, ClassPulseBot
from bot.app import App, build_app
from bot.clock import ManualClock
from bot.config import Config, parse_config
from bot.domain import Platform
from bot.simulated_time import advance
from tests.discord.scene import COURSE, Scene
from tests.emulators.discord_api import DiscordEmulator, IssuedInteraction, RecordedMessage
from tests.emulators.discord_gateway import Channel, GatewayFeed, Person

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def classroom_toml(scene: Scene, **discord: Any) -> dict[str, Any]:
    """The example configuration (campaigns, coupons) with the scene's server, channels and teachers."""
    raw = tomllib.loads(EXAMPLE.read_text())
    course = raw["courses"][COURSE]
    course["discord_channels"] = [scene.general.id]
    course["teachers"]["discord"] = [scene.teacher.id]
    course["discord"] = {
        "guild": scene.server.id,
        "class_channels": [scene.stage.id, scene.overflow.id],
        "teacher_roles": [next(iter(scene.server.roles))],
    }
    raw["discord"] |= {"guilds": [scene.server.id], **discord}
    return raw


def classroom_config(scene: Scene, **discord: Any) -> Config:
    return parse_config(
        classroom_toml(scene, **discord), "classroom.toml", environ={"CLASSPULSE_DISCORD_TOKEN": "x"}
    )


class SimulatedSleep:
    """How the offer countdowns wait here: simulated time passes on the clock, when the test allows it."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.requested: list[float] = []
        self._allowed = asyncio.Semaphore(0)
        self.free = False

    async def __call__(self, seconds: float) -> None:
        self.requested.append(seconds)
        if not self.free:
            await self._allowed.acquire()
        self.clock.advance(timedelta(seconds=seconds))

    def run_freely(self) -> None:
        """From now on every sleep lets its time pass at once (a sleeper waiting now goes on too)."""
        self.free = True
        self._allowed.release()


def register_channels(api: DiscordEmulator, scene: Scene) -> None:
    for channel in scene.server.channels:
        api.add_channel(channel.id, guild_id=scene.server.id, name=channel.name, type=channel.type)


@dataclass
class Classroom:
    scene: Scene
    app: App
    bot: ClassPulseBot
    feed: GatewayFeed
    api: DiscordEmulator
    clock: ManualClock
    sleep: SimulatedSleep

    # ------------------------------------------------------------------------------------ doing things

    def slash(
        self,
        person: Person,
        name: str,
        options: Mapping[str, str | int],
        *,
        channel: Channel | None = None,
        created: datetime | None = None,
    ) -> dict[str, Any]:
        """The INTERACTION_CREATE of `person` running `/name` (e.g. "class live") in `channel` (#general)."""
        typed = [
            {"type": 4 if isinstance(value, int) else 3, "name": key, "value": value}
            for key, value in options.items()
        ]
        return self.scene.server.slash_command(
            self.api.application_id, channel or self.scene.general, person, name, typed, created=created
        )

    async def run(self, interaction: dict[str, Any]) -> IssuedInteraction:
        await self.feed.dispatch("INTERACTION_CREATE", interaction)
        return self.api.interactions[int(interaction["id"])]

    async def command(
        self, person: Person, name: str, *, channel: Channel | None = None, **options: str | int
    ) -> IssuedInteraction:
        """`person` runs `/name` with these options; what Discord recorded of it."""
        return await self.run(self.slash(person, name, options, channel=channel))

    async def press(
        self, person: Person, message: RecordedMessage, label: str, *, channel: Channel | None = None
    ) -> IssuedInteraction:
        """`person` presses the button labelled `label` on `message`."""
        [button] = [b for b in message.buttons if b["label"] == label]
        payload = self.scene.server.button_press(
            self.api.application_id,
            channel or self.scene.general,
            person,
            self.api._message_json(message),
            button["custom_id"],
        )
        await self.feed.dispatch("INTERACTION_CREATE", payload)
        return self.api.interactions[int(payload["id"])]

    async def say(self, person: Person, text: str, channel: Channel | None = None) -> dict[str, Any]:
        payload = self.scene.server.message(channel or self.scene.general, person, text)
        await self.feed.dispatch("MESSAGE_CREATE", payload)
        return payload

    async def deliver(self) -> None:
        """The dispatcher sends what is queued now (the live announcement in every chat, say)."""
        await self.app.dispatcher.drain()

    async def advance(self, to: datetime) -> None:
        """Simulated time passes: due campaign steps run and the dispatcher delivers what they queued."""
        await advance(self.app, self.clock, to)

    # ------------------------------------------------------------------------------------ reading back

    def answer(self, issued: IssuedInteraction) -> RecordedMessage:
        """The bot's answer to an interaction: its original response, as it reads in the end."""
        assert issued.original_id is not None, f"interaction {issued.id} was never answered"
        return self.api.message(issued.original_id)

    async def events(self) -> list[tuple[str, str, str, str]]:
        """The course's event log, oldest first: kind, event id, learner, class."""
        entries = cast(
            list[tuple[str, dict[str, str]]],
            await self.app.store.client.xrange(self.app.store.keys.events(COURSE)),
        )
        return [(f["k"], f["e"], f["l"], f["c"]) for _, f in entries]

    def posts(self, channel: Channel | None = None) -> list[RecordedMessage]:
        """What the bot posted in a channel by itself (not answers to interactions)."""
        messages = self.api.messages((channel or self.scene.general).id)
        return [m for m in messages if m.interaction_id is None]

    async def restart(self) -> None:
        """The bot process restarts (the core and Redis stay): a new bot, nothing of the old one in memory."""
        await self.bot.close()
        self.bot = await connected_bot(self.app, self.api, self.scene, self.sleep)
        self.feed = GatewayFeed(self.bot, self.api)
        await self.feed.connect(self.scene.server)


async def connected_bot(app: App, api: DiscordEmulator, scene: Scene, sleep: SimulatedSleep) -> ClassPulseBot:
    bot = ClassPulseBot(BotParts.from_app(app, sleep=sleep), guild_ready_timeout=0.01)
    await bot.login(api.token)
    app.messengers[Platform.DISCORD] = bot.messenger
    return bot


@asynccontextmanager
async def classroom(
    api: DiscordEmulator,
    redis_url: str,
    clock: ManualClock,
    scene: Scene,
    *,
    telegram: RecordingMessenger | None = None,
    **discord: Any,
) -> AsyncIterator[Classroom]:
    config = classroom_config(scene, **discord)
    register_channels(api, scene)
    messengers = {Platform.TELEGRAM: telegram} if telegram else {}
    app = await build_app(
        config, clock=clock, messengers=messengers, redis_url=redis_url, scheduler_mode="manual"
    )
    sleep = SimulatedSleep(clock)
    bot = await connected_bot(app, api, scene, sleep)
    room = Classroom(scene, app, bot, GatewayFeed(bot, api), api, clock, sleep)
    try:
        await room.feed.connect(scene.server)
        yield room
    finally:
        await room.bot.close()
        await app.close()
