"""The ClassPulse Discord bot: a discord.py `commands.Bot` whose every dependency comes in through its
constructor, so that tests build it with the real core on a manual clock.

`setup_hook` (run by discord.py at login) registers the persistent buttons, loads the cogs — the inbound
listener, the teachers' and the learners' commands — and syncs the slash commands: to each configured
server (they show at once), or globally with `global_sync` (then the servers' own copies are removed, so
that no command shows twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import discord
from discord.ext import commands

from adapters.discord.answering import SOMETHING_WENT_WRONG
from adapters.discord.buttons import DYNAMIC_BUTTONS, Presses
from adapters.discord.learner_commands import LearnerCog
from adapters.discord.listeners import InboundCog
from adapters.discord.messenger import ALLOWED_MENTIONS, DiscordMessenger
from adapters.discord.routes import DiscordRoutes
from adapters.discord.teacher_commands import TeacherCog
from bot.app import App
from bot.config import Config
from bot.config.discord import DiscordConfig
from bot.ports import Classes, Clock, Intake, Learners
from bot.usecases.countdown import OfferCountdowns, Sleep
from bot.usecases.learner import LearnerCommands
from bot.usecases.linking import Linking
from bot.usecases.teacher import TeacherCommands

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BotParts:
    """What the bot needs from the core."""

    config: Config
    teacher: TeacherCommands
    learner: LearnerCommands
    linking: Linking
    intake: Intake
    learners: Learners
    classes: Classes
    clock: Clock
    sleep: Sleep = asyncio.sleep  # how countdowns wait (tests let simulated time pass instead)

    @classmethod
    def from_app(cls, app: App, *, sleep: Sleep = asyncio.sleep) -> BotParts:
        store = app.store
        return cls(
            app.config,
            app.teacher,
            app.learner,
            app.linking,
            store.intake,
            store.learners,
            store.classes,
            app.clock,
            sleep,
        )


class CommandsNotRegistered(Exception):
    """Discord refused the slash commands for a server (the bot lacks the applications.commands scope)."""

    def __init__(self, guild_id: int | None, error: discord.HTTPException) -> None:
        where = f"server {guild_id}" if guild_id else "all servers (global sync)"
        super().__init__(f"Discord refused the slash commands for {where}: {error.text or error.status}")
        self.guild_id = guild_id


def intents_for(config: DiscordConfig) -> discord.Intents:
    """Only what ClassPulse reads; the privileged intents as configured."""
    intents = discord.Intents.none()
    intents.guilds = True  # channels and roles: which course a channel is, who teaches
    intents.guild_messages = True  # messages in course channels
    intents.guild_reactions = True
    intents.guild_polls = True  # poll answers
    intents.voice_states = True  # watch time in stage and voice channels
    intents.members = config.members_intent  # privileged: members joining; members' roles in the cache
    intents.message_content = config.message_content_intent  # privileged: the text of messages
    return intents


class ClassPulseBot(commands.Bot):
    def __init__(self, parts: BotParts, *, guild_ready_timeout: float = 2.0) -> None:
        settings = parts.config.discord
        options: dict[str, Any] = {
            "help_command": None,
            "allowed_mentions": ALLOWED_MENTIONS,
            "guild_ready_timeout": guild_ready_timeout,
        }
        if settings.application_id:  # else discord.py takes the application of the token at login
            options["application_id"] = settings.application_id
        # ClassPulse reads voice states but never joins a voice channel: no audio libraries to warn about.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(commands.when_mentioned, intents=intents_for(settings), **options)
        self.parts = parts
        self.routes = DiscordRoutes.from_config(parts.config.courses)
        self.messenger = DiscordMessenger(self, requests_per_second=settings.requests_per_second)
        self.presses = Presses(parts.learner, self.messenger)  # found by the buttons through the client
        self.countdowns = OfferCountdowns(self.messenger, parts.config, parts.clock, parts.sleep)

    async def setup_hook(self) -> None:
        parts, settings = self.parts, self.parts.config.discord
        self.add_dynamic_items(*DYNAMIC_BUTTONS)
        self.tree.error(self.command_failed)
        inbound = InboundCog(
            self,
            routes=self.routes,
            intake=parts.intake,
            learners=parts.learners,
            classes=parts.classes,
            clock=parts.clock,
            content_intent=settings.message_content_intent,
            watch_flush=settings.watch_flush,
        )
        await self.add_cog(inbound)
        await self.add_cog(
            TeacherCog(
                config=parts.config,
                teacher=parts.teacher,
                routes=self.routes,
                messenger=self.messenger,
                countdowns=self.countdowns,
                credit_watch_time=inbound.flush_watch_time,
            )
        )
        await self.add_cog(LearnerCog(learner=parts.learner, linking=parts.linking, routes=self.routes))
        await self.sync_commands()

    async def command_failed(
        self, interaction: discord.Interaction, error: discord.app_commands.AppCommandError
    ) -> None:
        """A command that failed outside the use case (Discord refused a step): logged, and never silent."""
        log.error(
            "slash command /%s failed",
            interaction.command.qualified_name if interaction.command else "?",
            exc_info=error,
        )
        with contextlib.suppress(discord.HTTPException):
            if interaction.response.is_done():
                await interaction.followup.send(SOMETHING_WENT_WRONG, ephemeral=True)
            else:
                await interaction.response.send_message(SOMETHING_WENT_WRONG, ephemeral=True)

    async def sync_commands(self) -> None:
        settings = self.parts.config.discord
        if settings.global_sync:
            await self._sync(None)
        for guild_id in settings.guilds:
            guild = discord.Object(guild_id)
            self.tree.clear_commands(guild=guild)
            if not settings.global_sync:
                self.tree.copy_global_to(guild=guild)
            await self._sync(guild_id)

    async def _sync(self, guild_id: int | None) -> None:
        try:
            await self.tree.sync(guild=discord.Object(guild_id) if guild_id else None)
        except discord.HTTPException as error:
            if error.status >= 500:
                raise
            raise CommandsNotRegistered(guild_id, error) from error
