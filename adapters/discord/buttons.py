"""ClassPulse's buttons on Discord, answered from their custom_id alone: they keep working after a restart.

A button's custom_id is the callback the core put on it (`join|claim|start:<course>:<target>`, see
`bot.domain.callbacks`). discord.py matches every press against the templates of the dynamic items the bot
registers, whatever message the button is on and whichever process sent it, and builds the item from the
custom_id. Each press is answered privately (ephemerally): only the person who pressed sees their link or
code.
"""

from __future__ import annotations

import re
from typing import Any, Self

import discord

from adapters.discord.answering import acknowledge, finish, identity, language, reply_of
from adapters.discord.inbound import press_event_id
from bot.domain import DeliveryStatus, OutboundMessage, Platform, callbacks
from bot.ports import Messenger
from bot.usecases.learner import LearnerCommands
from bot.usecases.replies import Reply

# What the course-channel fallback's "Open my messages" button answers, and the first direct message.
DMS_OPEN = "I have just written to you in direct messages: from now on my messages reach you there."
DMS_CLOSED = (
    "I still cannot write to you: your direct messages are closed to me. To open them, right-click (or "
    "long-press) the server's icon, choose Privacy Settings and switch on Direct Messages, then press the "
    "button again."
)
DMS_FAILED = "Discord did not let me write to you just now; please press the button again in a minute."
WELCOME_DM = "Hello! This is where I will send your class links, reminders and offers. /stop stops them."

_COURSE = r"(?P<course>[^:]+)"


class Presses:
    """What a press of each button does: the learner use cases, answered privately."""

    def __init__(self, learner: LearnerCommands, messenger: Messenger) -> None:
        self.learner = learner
        self.messenger = messenger

    async def join(self, interaction: discord.Interaction, course_id: str, class_id: str) -> None:
        """ "Join the live class": the join is recorded, the learner gets their personal link."""
        if not await acknowledge(interaction):
            return
        user = interaction.user
        reply = await reply_of(
            self.learner.start(
                identity(user),
                press_event_id(interaction),
                name=user.display_name,
                language=language(interaction),
                course_id=course_id,
                class_id=class_id,
            )
        )
        await finish(interaction, reply)

    async def claim(self, interaction: discord.Interaction, course_id: str, offer_id: str) -> None:
        """ "Claim offer": the learner's own coupon code, while the offer runs."""
        if not await acknowledge(interaction):
            return
        user = interaction.user
        reply = await reply_of(
            self.learner.claim_offer(
                identity(user),
                press_event_id(interaction),
                course_id,
                offer_id,
                name=user.display_name,
                language=language(interaction),
            )
        )
        await finish(interaction, reply)

    async def start(self, interaction: discord.Interaction, course_id: str) -> None:
        """ "Open my messages" (the bot could not write to the learner): try again, or say how to allow it.

        Only a direct message that gets through marks the learner reachable on Discord again.
        """
        if not await acknowledge(interaction):
            return
        user = interaction.user
        delivery = await self.messenger.send(
            OutboundMessage(
                key=f"welcome:{interaction.id}",
                platform=Platform.DISCORD,
                chat_id=str(user.id),
                text=WELCOME_DM,
                course_id=course_id,
            )
        )
        if delivery.status is DeliveryStatus.DELIVERED:
            started = await reply_of(
                self.learner.start(
                    identity(user),
                    press_event_id(interaction),
                    name=user.display_name,
                    language=language(interaction),
                    course_id=course_id,
                )
            )
            reply = Reply(DMS_OPEN) if started.ok else started
        elif delivery.status is DeliveryStatus.UNREACHABLE:
            reply = Reply.refusal(DMS_CLOSED)
        else:
            reply = Reply.refusal(DMS_FAILED)
        await finish(interaction, reply)


def presses_of(client: discord.Client) -> Presses:
    presses = getattr(client, "presses", None)
    if not isinstance(presses, Presses):
        raise TypeError("this client does not answer ClassPulse's buttons (it has no `presses`)")
    return presses


class JoinButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"join:{_COURSE}:(?P<target>[^:]+)"
):
    def __init__(self, course_id: str, class_id: str) -> None:
        custom_id = callbacks.join(course_id, class_id)
        super().__init__(discord.ui.Button(label="Join the live class", custom_id=custom_id))
        self.course_id, self.class_id = course_id, class_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(match["course"], match["target"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await presses_of(interaction.client).join(interaction, self.course_id, self.class_id)


class ClaimButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"claim:{_COURSE}:(?P<target>[^:]+)"
):
    def __init__(self, course_id: str, offer_id: str) -> None:
        custom_id = callbacks.claim(course_id, offer_id)
        super().__init__(discord.ui.Button(label="Claim offer", custom_id=custom_id))
        self.course_id, self.offer_id = course_id, offer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(match["course"], match["target"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await presses_of(interaction.client).claim(interaction, self.course_id, self.offer_id)


class StartButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"start:{_COURSE}:(?P<target>[^:]*)"
):
    def __init__(self, course_id: str, class_id: str) -> None:
        custom_id = callbacks.start(course_id, class_id)
        super().__init__(discord.ui.Button(label="Open my messages", custom_id=custom_id))
        self.course_id = course_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(match["course"], match["target"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await presses_of(interaction.client).start(interaction, self.course_id)


DYNAMIC_BUTTONS = (JoinButton, ClaimButton, StartButton)
