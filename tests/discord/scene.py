"""A course server with its people, its config and a bot listening to it: the stage of the inbound tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import discord
from discord.ext import commands

from adapters.discord.listeners import InboundCog
from adapters.discord.routes import DiscordRoutes
from adapters.redis import RedisStore
from bot.clock import ManualClock
from bot.config import Config, parse_config
from bot.domain import ClassSession, ClassState
from tests.emulators.discord_api import DiscordEmulator
from tests.emulators.discord_gateway import Channel, GatewayFeed, Person, Server

COURSE = "python101"


def intents(*, message_content: bool = True) -> discord.Intents:
    chosen = discord.Intents.default()
    chosen.members = True
    chosen.message_content = message_content
    return chosen


def learner(person_id: int) -> str:
    """The learner id a Discord user gets when first seen."""
    return f"dc-{person_id}"


@dataclass
class Scene:
    server: Server
    general: Channel  # the course's chat channel
    offtopic: Channel  # a channel of the server that belongs to no course
    stage: Channel  # the stage channel where classes are held
    overflow: Channel  # a second class channel (a voice channel) of the course
    lounge: Channel  # a voice channel that hosts no class
    ada: Person
    bo: Person
    teacher: Person  # a teacher by user id
    assistant: Person  # a teacher by role
    robot: Person  # another bot

    @classmethod
    def build(cls) -> Scene:
        server = Server(name="Python 101")
        teachers = server.role("Teachers")
        return cls(
            server=server,
            general=server.text_channel("general"),
            offtopic=server.text_channel("off-topic"),
            stage=server.stage_channel("live-class"),
            overflow=server.voice_channel("overflow"),
            lounge=server.voice_channel("lounge"),
            ada=server.person("Ada"),
            bo=server.person("Bo"),
            teacher=server.person("Prof"),
            assistant=server.person("Assistant", roles=[teachers]),
            robot=server.person("OtherBot", bot=True),
        )

    @property
    def config(self) -> Config:
        teacher_role = next(iter(self.server.roles))
        course = {
            "name": "Python 101",
            "price": 199.0,
            "currency": "USD",
            "discord_channels": [self.general.id],
            "teachers": {"discord": [self.teacher.id]},
            "discord": {
                "guild": self.server.id,
                "class_channels": [self.stage.id, self.overflow.id],
                "teacher_roles": [teacher_role],
            },
        }
        return parse_config({"courses": {COURSE: course}})

    @property
    def routes(self) -> DiscordRoutes:
        return DiscordRoutes.from_config(self.config.courses)


@dataclass
class Listening:
    """A logged-in bot with the inbound cog, fed by the gateway feed, recording into a real Redis."""

    bot: commands.Bot
    cog: InboundCog
    feed: GatewayFeed
    store: RedisStore
    clock: ManualClock

    async def start_class(self, class_id: str = "c1", *, at: datetime | None = None) -> ClassSession:
        session = ClassSession(
            class_id, COURSE, "Loops", ClassState.LIVE, started_at=at or self.clock.now(), planned_minutes=60
        )
        await self.store.classes.save(session)
        return session

    async def end_class(self, session: ClassSession, *, at: datetime | None = None) -> ClassSession:
        ended = session.end(at or self.clock.now())
        await self.store.classes.save(ended)
        return ended

    def tick(self, seconds: float) -> datetime:
        return self.clock.advance(timedelta(seconds=seconds))

    async def events(self) -> list[dict[str, Any]]:
        """The course's event log, oldest first: kind, event id, learner, class, payload."""
        entries = cast(
            list[tuple[str, dict[str, str]]], await self.store.client.xrange(self.store.keys.events(COURSE))
        )
        return [
            {"kind": f["k"], "id": f["e"], "learner": f["l"], "class": f["c"], "data": json.loads(f["d"])}
            for _, f in entries
        ]

    async def kinds(self) -> list[str]:
        return [e["kind"] for e in await self.events()]

    async def watched(self, learner_id: str, class_id: str = "c1") -> int:
        value = await self.store.client.hget(
            self.store.keys.learner_class(COURSE, class_id, learner_id), "watch_s"
        )
        return int(value or 0)


async def listening(
    discord_api: DiscordEmulator,
    store: RedisStore,
    clock: ManualClock,
    scene: Scene,
    *,
    content_intent: bool = True,
    watch_flush: timedelta | None = None,
) -> Listening:
    """A bot with the inbound cog, logged in to the emulator and connected to the scene's server."""
    bot = commands.Bot(
        command_prefix="!", intents=intents(message_content=content_intent), guild_ready_timeout=0.01
    )
    cog = InboundCog(
        bot,
        routes=scene.routes,
        intake=store.intake,
        learners=store.learners,
        classes=store.classes,
        clock=clock,
        content_intent=content_intent,
        watch_flush=watch_flush,
    )
    await bot.login(discord_api.token)
    await bot.add_cog(cog)
    feed = GatewayFeed(bot, discord_api)
    await feed.connect(scene.server)
    return Listening(bot, cog, feed, store, clock)
