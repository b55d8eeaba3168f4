"""The cog that listens to a course server and feeds intake: chat, reactions, polls, joins, voice.

It only records what learners do; answering them (commands, buttons) is the job of the other cogs, and a
press of one of ClassPulse's buttons is recorded by the use case the button runs. Teachers and bots are not
learners: what they do is not recorded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta

import discord
from discord.ext import commands, tasks

from adapters.discord import inbound
from adapters.discord.answering import role_ids
from adapters.discord.routes import DiscordRoutes
from adapters.discord.watch_time import WatchTime
from bot.domain import ClassSession, ClassState, Identity, Interaction, Platform
from bot.ports import Classes, Clock, Intake, Learners

log = logging.getLogger(__name__)

CONTENT_INTENT_OFF = (
    "Discord message-content intent is off: messages in course channels are counted, but their text is not "
    "read, so questions cannot be told apart from other messages and teachers see no question text. "
    "To read messages, switch on Bot > Privileged Gateway Intents > Message Content in the Developer Portal "
    "and set discord.message_content_intent = true."
)


class InboundCog(commands.Cog):
    def __init__(
        self,
        client: discord.Client,
        *,
        routes: DiscordRoutes,
        intake: Intake,
        learners: Learners,
        classes: Classes,
        clock: Clock,
        content_intent: bool,
        watch_flush: timedelta | None,
    ) -> None:
        self.client = client
        self.routes = routes
        self.intake = intake
        self.learners = learners
        self.classes = classes
        self.clock = clock
        self.content_intent = content_intent
        self.watch = WatchTime()
        # discord.py runs each event's handlers as a task of its own: a join and the leave right after it can
        # reach the tracker in the wrong order once they wait on Redis. Voice updates take turns, in the order
        # they arrived (asyncio locks are fair), so the tracker sees them as Discord sent them.
        self._voice_turn = asyncio.Lock()
        self._flush_loop = (
            tasks.loop(seconds=watch_flush.total_seconds())(self.flush_watch_time) if watch_flush else None
        )

    async def cog_load(self) -> None:
        if not self.content_intent:
            log.warning(CONTENT_INTENT_OFF)
        if self._flush_loop is not None:
            self._flush_loop.start()

    async def cog_unload(self) -> None:
        if self._flush_loop is not None:
            self._flush_loop.cancel()
        await self.flush_watch_time()

    # ---------------------------------------------------------------------------------- helpers

    async def _learner(self, user_id: int, name: str = "") -> str:
        return await self.learners.resolve(Identity(Platform.DISCORD, str(user_id)), name=name)

    async def _live(self, course_id: str) -> ClassSession | None:
        current = await self.classes.current(course_id)
        return current if current is not None and current.state is ClassState.LIVE else None

    async def _class_now(self, course_id: str) -> ClassSession | None:
        """The class whose watch time runs in the course: the live one, else the one that just ended."""
        live = await self._live(course_id)
        if live is not None:
            return live
        credited = self.watch.class_of(course_id)
        return await self.classes.get(course_id, credited) if credited else None

    async def _seen(self, course_id: str, user_id: int, name: str) -> inbound.Seen:
        live = await self._live(course_id)
        return inbound.Seen(course_id, await self._learner(user_id, name), live.id if live else "")

    def _counts(self, course_id: str, user_id: int, role_ids: Iterable[int], bot: bool) -> bool:
        """Whether what this person does counts as a learner's activity in the course."""
        return not bot and not self.routes.is_teacher(course_id, user_id, role_ids)

    async def _record(self, events: Sequence[Interaction]) -> None:
        if events:
            await self.intake.ingest(events)

    # -------------------------------------------------------------------------------- listeners

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.guild is None or message.type not in (
            discord.MessageType.default,
            discord.MessageType.reply,
        ):
            return
        parent = message.channel.parent_id if isinstance(message.channel, discord.Thread) else None
        course_id = self.routes.course_of_chat(message.channel.id, parent)
        author = message.author
        if course_id is None or not self._counts(course_id, author.id, role_ids(author), author.bot):
            return
        seen = await self._seen(course_id, author.id, author.display_name)
        await self._record([inbound.from_message(message, seen, content_intent=self.content_intent)])

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, event: discord.RawReactionActionEvent) -> None:
        course_id = self.routes.course_of_chat(event.channel_id)
        member = event.member
        if course_id is None or member is None:
            return  # a reaction outside a course channel, or in a DM
        if not self._counts(course_id, member.id, role_ids(member), member.bot):
            return
        seen = await self._seen(course_id, member.id, member.display_name)
        await self._record([inbound.from_reaction(event, seen, self.clock.now())])

    @commands.Cog.listener()
    async def on_raw_poll_vote_add(self, event: discord.RawPollVoteActionEvent) -> None:
        course_id = self.routes.course_of_chat(event.channel_id)
        if course_id is None:
            return
        # The vote carries no member; the cache knows their roles and name when the members intent is on.
        guild = self.client.get_guild(event.guild_id) if event.guild_id else None
        member = guild.get_member(event.user_id) if guild else None
        roles, name, bot = (role_ids(member), member.display_name, member.bot) if member else ([], "", False)
        if not self._counts(course_id, event.user_id, roles, bot):
            return
        seen = await self._seen(course_id, event.user_id, name)
        await self._record([inbound.from_poll_vote(event, seen, self.clock.now())])

    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        if member.bot:
            return
        events = []
        for course_id in self.routes.courses_of_guild(member.guild.id):
            seen = inbound.Seen(course_id, await self._learner(member.id, member.display_name))
            events.append(inbound.from_member_join(member, seen, self.clock.now()))
        await self._record(events)

    @commands.Cog.listener()
    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        await self._voice(member, after)

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        await self.resync_voice(guild)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.resync_voice(guild)

    # ------------------------------------------------------------------------------- watch time

    async def _voice(self, member: discord.Member, state: discord.VoiceState) -> None:
        at = self.clock.now()
        channel = state.channel
        course_id = self.routes.course_of_class_channel(channel.id) if channel is not None else None
        watching = (
            channel is not None
            and course_id is not None
            and not (state.self_deaf or state.deaf)  # deafened: in the channel, but not following the class
            and self._counts(course_id, member.id, role_ids(member), member.bot)
        )
        async with self._voice_turn:
            events: list[Interaction] = []
            seated_in = self.watch.course_of(member.id)
            if seated_in is not None and (seated_in != course_id or not watching):
                self.watch.relabel(member.id, await self._learner(member.id, member.display_name))
                events += self.watch.left(
                    user_id=member.id,
                    session_id=state.session_id,
                    at=at,
                    session=await self._class_now(seated_in),
                )
            if watching and channel is not None and course_id is not None:
                events += self.watch.joined(
                    user_id=member.id,
                    learner_id=await self._learner(member.id, member.display_name),
                    course_id=course_id,
                    channel_id=channel.id,
                    session_id=state.session_id or "",
                    at=at,
                    session=await self._class_now(course_id),
                )
            await self._record(events)

    async def resync_voice(self, guild: discord.Guild) -> None:
        """After (re)connecting: seat whoever is in the class channels now, unseat whoever is gone."""
        present: set[int] = set()
        for channel_id in self.routes.class_channels:
            channel = guild.get_channel(channel_id)
            if not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
                continue
            for user_id, state in channel.voice_states.items():
                member = guild.get_member(user_id)
                if member is not None:
                    present.add(user_id)
                    await self._voice(member, state)
        at = self.clock.now()
        async with self._voice_turn:
            events: list[Interaction] = []
            for course_id in self.routes.courses_of_guild(guild.id):
                gone = self.watch.seated(course_id) - present
                await self._relabel(gone)
                for user_id in gone:
                    events += self.watch.left(
                        user_id=user_id, session_id=None, at=at, session=await self._class_now(course_id)
                    )
            await self._record(events)

    async def _relabel(self, user_ids: Iterable[int]) -> None:
        """Seats remember who sat down; someone who linked accounts since is credited as who they are now."""
        for user_id in user_ids:
            self.watch.relabel(user_id, await self._learner(user_id))

    async def flush_watch_time(self) -> None:
        """Credit the watch time of everyone still in a class channel (run every `watch_flush`)."""
        at = self.clock.now()
        async with self._voice_turn:
            events: list[Interaction] = []
            for course_id in sorted(self.watch.courses()):
                await self._relabel(self.watch.seated(course_id))
                events += self.watch.flush(course_id, at, await self._class_now(course_id))
            await self._record(events)
