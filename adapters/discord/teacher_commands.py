"""The teachers' slash commands: `/class schedule|live|end|stats|hot|why`, `/poll`, `/offer`.

Thin: each command joins its typed parameters into the argument text the shared parser reads and runs the
teacher use case, which also checks that the person teaches the course (by user id, or by a teacher role
that this adapter reports as `admin_teacher`). Answers to the teacher are private (ephemeral); what is
meant for learners — the live announcement with its "Join the live class" button, a native poll, a flash
offer with its "Claim offer" button and countdown — is posted in the channel by the bot itself, as a
message it can keep editing long after the interaction's 15 minutes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord
from discord import app_commands
from discord.ext import commands

from adapters.discord.answering import acknowledge, course_of, finish, identity, language, reply_of, role_ids
from adapters.discord.messenger import DiscordMessenger
from adapters.discord.routes import DiscordRoutes
from bot.config import Config
from bot.domain import DeliveryStatus, OutboundMessage, Platform
from bot.usecases.countdown import OfferCountdowns
from bot.usecases.replies import Actor, PollRequest, Reply
from bot.usecases.teacher import TeacherCommands

POLL_QUESTION_LIMIT = 300
POLL_ANSWER_LIMIT = 55
POLL_HOURS = 1  # the shortest poll Discord allows; answers count for the class that is live when given

Command = Callable[[Actor, str, str], Awaitable[Reply]]
Flush = Callable[[], Awaitable[None]]


class TeacherCog(commands.Cog):
    lesson = app_commands.Group(
        name="class",
        description="Run a live class: schedule, go live, end, stats, hot leads",
        guild_only=True,
    )

    def __init__(
        self,
        *,
        config: Config,
        teacher: TeacherCommands,
        routes: DiscordRoutes,
        messenger: DiscordMessenger,
        countdowns: OfferCountdowns,
        credit_watch_time: Flush,
    ) -> None:
        self.config = config
        # Run before the commands that score the class (end, stats, hot), so that learners still sitting
        # in the stage are counted up to now, not up to the last periodic flush.
        self.credit_watch_time = credit_watch_time
        self.teacher = teacher
        self.routes = routes
        self.messenger = messenger
        self.countdowns = countdowns

    async def cog_unload(self) -> None:
        await self.countdowns.stop()

    # ---------------------------------------------------------------------------------------- /class

    @lesson.command(name="schedule", description="Schedule a class; learners get reminders before it")
    @app_commands.describe(
        when="When it starts, in the course's time zone: tomorrow 19:00, fri 18:30, 2026-11-24 19:00, in 2h",
        title="What the class is called",
    )
    async def schedule(
        self,
        interaction: discord.Interaction,
        when: app_commands.Range[str, 1, 40],
        title: app_commands.Range[str, 1, 200],
    ) -> None:
        await self._run(interaction, self.teacher.schedule, f"{when} {title}", "/class ")

    @lesson.command(name="live", description="Go live: post the announcement with the Join button")
    @app_commands.describe(url="The stream's address (https://…)", title="The class's title, if it changed")
    async def live(
        self,
        interaction: discord.Interaction,
        url: app_commands.Range[str, 1, 500],
        title: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        await self._run(interaction, self.teacher.live, f"{url} {title or ''}".strip(), "/class ")

    @lesson.command(name="end", description="End the live class; follow-ups are scheduled")
    async def end(self, interaction: discord.Interaction) -> None:
        await self._run(interaction, self.teacher.end, "", "/class ", scores=True)

    @lesson.command(name="stats", description="How the live (or last) class is going, privately")
    async def stats(self, interaction: discord.Interaction) -> None:
        await self._run(interaction, self.teacher.stats, "", "/class ", scores=True)

    @lesson.command(
        name="hot", description="The hottest leads of the live (or last) class and why, privately"
    )
    @app_commands.describe(count="How many learners to list")
    async def hot(self, interaction: discord.Interaction, count: app_commands.Range[int, 1, 50] = 10) -> None:
        await self._run(interaction, self.teacher.hot, str(count), "/class ", scores=True)

    @lesson.command(
        name="why", description="Why a learner scores as they do: what raised and lowered it, privately"
    )
    @app_commands.describe(learner="The learner's name as the bot knows it, or their learner id")
    async def why(self, interaction: discord.Interaction, learner: str) -> None:
        await self._run(interaction, self.teacher.why, learner, "/class ", scores=True)

    # ---------------------------------------------------------------------------------- /poll, /offer

    @app_commands.command(name="poll", description="Ask the live class a question with a native poll")
    @app_commands.guild_only()
    @app_commands.describe(
        question="The question",
        option1="An answer",
        option2="An answer",
        option3="An answer",
        option4="An answer",
        option5="An answer",
        option6="An answer",
        option7="An answer",
        option8="An answer",
        option9="An answer",
        option10="An answer",
    )
    async def poll(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, POLL_QUESTION_LIMIT],
        option1: app_commands.Range[str, 1, POLL_ANSWER_LIMIT],
        option2: app_commands.Range[str, 1, POLL_ANSWER_LIMIT],
        option3: app_commands.Range[str, 1, POLL_ANSWER_LIMIT] | None = None,
        option4: app_commands.Range[str, 1, POLL_ANSWER_LIMIT] | None = None,
        option5: app_commands.Range[str, 1, POLL_ANSWER_LIMIT] | None = None,
        option6: app_commands.Range[str, 1, POLL_ANSWER_LIMIT] | None = None,
        option7: app_commands.Range[str, 1, POLL_ANSWER_LIMIT] | None = None,
        option8: app_commands.Range[str, 1, POLL_ANSWER_LIMIT] | None = None,
        option9: app_commands.Range[str, 1, POLL_ANSWER_LIMIT] | None = None,
        option10: app_commands.Range[str, 1, POLL_ANSWER_LIMIT] | None = None,
    ) -> None:
        options = [option1, option2, option3, option4, option5, option6, option7, option8, option9, option10]
        pieces = [question, *(o for o in options if o)]
        if any("|" in piece for piece in pieces):
            # The shared parser separates the question and the answers with "|".
            if await acknowledge(interaction):
                await finish(interaction, Reply.refusal("A question or an answer cannot contain “|”."))
            return
        await self._run(interaction, self.teacher.poll, " | ".join(p.strip() for p in pieces), "/")

    @app_commands.command(name="offer", description="Drop a flash offer to the live class, with a countdown")
    @app_commands.guild_only()
    @app_commands.describe(pool="The coupon pool the codes come from", minutes="How long the offer runs")
    async def offer(
        self,
        interaction: discord.Interaction,
        pool: app_commands.Range[str, 1, 100],
        minutes: app_commands.Range[int, 1, 240] = 15,
    ) -> None:
        await self._run(interaction, self.teacher.offer, f"{pool} {minutes}", "/")

    @offer.autocomplete("pool")
    async def pool_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        pools = [p for p in sorted(self.config.coupons) if current.lower() in p.lower()]
        return [app_commands.Choice(name=p, value=p) for p in pools[:25]]

    # ---------------------------------------------------------------------------------------- helpers

    def _actor(self, interaction: discord.Interaction, course_id: str) -> Actor:
        user = interaction.user
        return Actor(
            identity(user),
            user.display_name,
            language(interaction),
            admin_teacher=bool(course_id) and self.routes.has_teacher_role(course_id, role_ids(user)),
        )

    async def _run(
        self,
        interaction: discord.Interaction,
        command: Command,
        args: str,
        prefix: str,
        *,
        scores: bool = False,
    ) -> None:
        if not await acknowledge(interaction):
            return
        if scores:
            await self.credit_watch_time()
        course_id = course_of(self.routes, interaction)
        reply = await reply_of(command(self._actor(interaction, course_id), course_id, args), prefix)
        if reply.ok and reply.poll is not None:
            reply = await self._post_poll(interaction, reply.poll)
        elif reply.ok and reply.buttons:  # the live announcement or a flash offer: for everyone to press
            reply = await self._post(interaction, course_id, reply)
        await finish(interaction, reply)

    async def _post(self, interaction: discord.Interaction, course_id: str, reply: Reply) -> Reply:
        channel_id = str(interaction.channel_id)
        delivery = await self.messenger.send(
            OutboundMessage(
                key=f"announce:{interaction.id}",
                platform=Platform.DISCORD,
                chat_id=channel_id,
                text=reply.text,
                private=False,
                course_id=course_id,
                buttons=reply.buttons,
            )
        )
        if delivery.status is not DeliveryStatus.DELIVERED:
            return Reply.refusal(f"I could not post in this channel: {delivery.reason}.")
        if reply.offer is None:
            return Reply("Posted: learners press “Join the live class” for their personal link.")
        self.countdowns.start(reply.offer, channel_id, delivery.message_id, reply.buttons)
        return Reply("Posted: the flash offer counts down until it ends; learners press “Claim offer”.")

    async def _post_poll(self, interaction: discord.Interaction, poll: PollRequest) -> Reply:
        delivery = await self.messenger.post_poll(
            str(interaction.channel_id),
            poll.question,
            poll.options,
            key=f"poll:{interaction.id}",
            hours=POLL_HOURS,
        )
        if delivery.status is not DeliveryStatus.DELIVERED:
            return Reply.refusal(f"I could not post the poll in this channel: {delivery.reason}.")
        return Reply("Posted: the answers count for the live class.")
