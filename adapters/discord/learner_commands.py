"""The learners' slash commands: `/stop`, `/resume`, `/mycoupons`, `/link`, all answered privately."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from adapters.discord.answering import acknowledge, course_of, finish, identity, reply_of
from adapters.discord.routes import DiscordRoutes
from bot.usecases.learner import LearnerCommands
from bot.usecases.linking import Linking


def event_id(interaction: discord.Interaction) -> str:
    return f"cmd:{interaction.id}"


class LearnerCog(commands.Cog):
    def __init__(self, *, learner: LearnerCommands, linking: Linking, routes: DiscordRoutes) -> None:
        self.learner = learner
        self.linking = linking
        self.routes = routes

    @app_commands.command(name="stop", description="No more offers or reminders from me (at once)")
    async def stop(self, interaction: discord.Interaction) -> None:
        if await acknowledge(interaction):
            who, course_id = identity(interaction.user), course_of(self.routes, interaction)
            await finish(
                interaction, await reply_of(self.learner.stop(who, event_id(interaction), course_id))
            )

    @app_commands.command(name="resume", description="Get class reminders and offers from me again")
    async def resume(self, interaction: discord.Interaction) -> None:
        if await acknowledge(interaction):
            who, course_id = identity(interaction.user), course_of(self.routes, interaction)
            await finish(
                interaction, await reply_of(self.learner.resume(who, event_id(interaction), course_id))
            )

    @app_commands.command(name="mycoupons", description="Your personal coupon codes")
    async def my_coupons(self, interaction: discord.Interaction) -> None:
        if await acknowledge(interaction):
            await finish(interaction, await reply_of(self.learner.my_coupons(identity(interaction.user))))

    @app_commands.command(name="link", description="Make your Telegram and Discord accounts one")
    @app_commands.describe(code="The code the Telegram bot gave you; leave it out to get a code for Telegram")
    async def link(
        self, interaction: discord.Interaction, code: app_commands.Range[str, 1, 40] | None = None
    ) -> None:
        if not await acknowledge(interaction):
            return
        who = identity(interaction.user)
        call = self.linking.confirm(who, code) if code else self.linking.request(who)
        await finish(interaction, await reply_of(call))
