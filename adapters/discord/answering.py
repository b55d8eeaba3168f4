"""Answering a Discord interaction: acknowledged at once, completed when the core has answered.

Discord drops an interaction that is not acknowledged within 3 seconds, and a command may wait on Redis
(rescoring a class, merging two learners) for longer than that on a bad day. So every handler first defers
(Discord shows "thinking…"), then runs the use case, then replaces the placeholder with the reply. A
deferral that Discord refuses as already acknowledged means the gateway delivered the interaction twice and
the other copy is being answered: this one does nothing, so nothing is recorded or posted twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

import discord

from adapters.discord.messenger import ALLOWED_MENTIONS, MESSAGE_LIMIT, build_view
from adapters.discord.routes import DiscordRoutes
from bot.domain import Identity, Platform
from bot.splitting import split_rendered
from bot.usecases.replies import Reply, answer

log = logging.getLogger(__name__)

ALREADY_ACKNOWLEDGED = 40060
SOMETHING_WENT_WRONG = "Something went wrong on my side, sorry; please try again in a minute."


def identity(user: discord.abc.User) -> Identity:
    return Identity(Platform.DISCORD, str(user.id))


def language(interaction: discord.Interaction) -> str:
    """The person's language as the core names languages ("en", "zh"), from their Discord client's locale."""
    return interaction.locale.value.split("-")[0].lower()


def role_ids(user: discord.abc.User | None) -> list[int]:
    return [role.id for role in user.roles] if isinstance(user, discord.Member) else []


def course_of(routes: DiscordRoutes, interaction: discord.Interaction) -> str:
    """The course of the channel the interaction came from, or of its server if that hosts only one ("")."""
    channel = interaction.channel
    parent = channel.parent_id if isinstance(channel, discord.Thread) else None
    found = routes.course_of_chat(interaction.channel_id, parent) if interaction.channel_id else None
    if found is None and interaction.guild_id is not None:
        courses = routes.courses_of_guild(interaction.guild_id)
        found = courses[0] if len(courses) == 1 else None
    return found or ""


async def acknowledge(interaction: discord.Interaction) -> bool:
    """Defer the answer (privately). False when this copy of the interaction must not be answered."""
    try:
        await interaction.response.defer(ephemeral=True, thinking=True)
    except discord.NotFound:
        log.warning("interaction %s expired before it could be acknowledged", interaction.id)
        return False
    except discord.HTTPException as error:
        if error.code == ALREADY_ACKNOWLEDGED:
            log.info("interaction %s was delivered twice; the first copy answers it", interaction.id)
            return False
        raise
    return True


async def reply_of(call: Awaitable[Reply], prefix: str = "/") -> Reply:
    """The use case's reply; a usage mistake is a polite refusal, a failure of ours an apology (logged)."""
    try:
        return await answer(call, prefix)
    except Exception:
        log.exception("a Discord command failed")
        return Reply.refusal(SOMETHING_WENT_WRONG)


async def finish(interaction: discord.Interaction, reply: Reply) -> None:
    """Replace the deferred placeholder with the reply (Discord Markdown, in parts of at most 2,000)."""
    try:
        parts = split_rendered(reply.text, MESSAGE_LIMIT, Platform.DISCORD) or ["…"]
        view = build_view(reply.buttons)
    except ValueError:
        log.exception("a reply cannot be shown on Discord")
        parts, view = [SOMETHING_WENT_WRONG], None
    try:
        last = len(parts) - 1
        await interaction.edit_original_response(
            content=parts[0],
            view=view if last == 0 else None,
            allowed_mentions=ALLOWED_MENTIONS,
        )
        for i, part in enumerate(parts[1:], 1):
            await interaction.followup.send(
                part,
                ephemeral=True,
                view=view if i == last and view is not None else discord.utils.MISSING,
                allowed_mentions=ALLOWED_MENTIONS,
            )
    except discord.HTTPException as error:
        log.warning("could not complete the answer to interaction %s: %s", interaction.id, error)
