"""The bot itself: intents from the config, cogs and persistent buttons set up at login, commands synced
where the config says, and every interaction acknowledged before the core is asked anything."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest

from adapters.discord.answering import SOMETHING_WENT_WRONG
from adapters.discord.bot import intents_for
from adapters.discord.buttons import ClaimButton, JoinButton, StartButton
from adapters.discord.learner_commands import LearnerCog
from adapters.discord.listeners import InboundCog
from adapters.discord.teacher_commands import TeacherCog
from bot.clock import ManualClock
from bot.config.discord import DiscordConfig
from bot.domain import ClassSession
from bot.usecases.rescore import Rescorer
from tests.discord.classroom import Classroom, classroom
from tests.discord.scene import Scene
from tests.emulators.discord_api import DiscordEmulator


def test_intents_are_what_classpulse_reads_and_the_privileged_ones_as_configured() -> None:
    both = intents_for(DiscordConfig())
    neither = intents_for(DiscordConfig(message_content_intent=False, members_intent=False))

    assert both.message_content
    assert both.members
    assert (neither.message_content, neither.members) == (False, False)
    for intents in (both, neither):
        assert intents.guilds and intents.guild_messages and intents.guild_reactions  # noqa: PT018
        assert intents.voice_states and intents.guild_polls  # noqa: PT018
        assert not intents.presences
        assert not intents.dm_typing


async def test_login_loads_the_cogs_and_the_persistent_buttons(room: Classroom) -> None:
    bot = room.bot

    assert {type(c) for c in bot.cogs.values()} == {InboundCog, TeacherCog, LearnerCog}
    assert set(bot._connection._view_store._dynamic_items) >= {
        JoinButton.__discord_ui_compiled_template__,
        ClaimButton.__discord_ui_compiled_template__,
        StartButton.__discord_ui_compiled_template__,
    }


async def test_commands_are_synced_to_the_configured_server_with_typed_described_parameters(
    room: Classroom, discord_api: DiscordEmulator, scene: Scene
) -> None:
    assert discord_api.command_names(scene.server.id) == [
        "class",
        "class schedule",
        "class live",
        "class end",
        "class stats",
        "class hot",
        "class why",
        "poll",
        "offer",
        "stop",
        "resume",
        "mycoupons",
        "link",
    ]
    assert None not in discord_api.commands  # nothing global
    tree = {c["name"]: c for c in discord_api.commands[scene.server.id]}
    hot = next(o for o in tree["class"]["options"] if o["name"] == "hot")
    [count] = hot["options"]
    assert (count["type"], count["min_value"], count["max_value"], count["required"]) == (4, 1, 50, False)
    assert count["description"] == "How many learners to list"
    offer = {o["name"]: o for o in tree["offer"]["options"]}
    assert offer["pool"]["autocomplete"] is True
    assert [o["name"] for o in tree["poll"]["options"]][:3] == ["question", "option1", "option2"]
    assert all(o["description"] for c in tree.values() for o in c.get("options", []))


async def test_global_sync_registers_the_commands_once_for_every_server(
    discord_api: DiscordEmulator, redis_url: str, clock: ManualClock, scene: Scene
) -> None:
    async with classroom(discord_api, redis_url, clock, scene, global_sync=True):
        pass

    assert "class live" in discord_api.command_names(None)
    assert discord_api.commands[scene.server.id] == []  # the server's own copies removed: none shows twice


async def test_a_command_slower_than_discords_deadline_is_answered_because_it_is_deferred_first(
    room: Classroom, discord_api: DiscordEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    discord_api.interaction_deadline = timedelta(seconds=0.2)  # Discord's 3 s, shortened for the test
    rescore = Rescorer.rescore

    async def slow_rescore(self: Rescorer, session: ClassSession, *args: Any) -> Any:
        await asyncio.sleep(0.4)  # Redis on a bad day
        return await rescore(self, session, *args)

    monkeypatch.setattr(Rescorer, "rescore", slow_rescore)
    await room.command(room.scene.teacher, "class live", url="https://youtube.com/live/abc")

    issued = await room.command(room.scene.teacher, "class stats")

    assert [(c.type, c.status) for c in issued.callbacks] == [(5, 200)]
    assert room.answer(issued).content.startswith("📊")


async def test_a_command_that_fails_outside_the_use_case_is_logged_and_still_answered(
    room: Classroom, discord_api: DiscordEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    discord_api.fail(400, 50035, "Invalid Form Body", route="callback")  # Discord refuses the deferral once

    with caplog.at_level(logging.ERROR, logger="adapters.discord"):
        issued = await room.command(room.scene.ada, "mycoupons")

    [callback] = issued.callbacks
    assert (callback.type, callback.ephemeral) == (4, True)
    assert callback.data["content"] == SOMETHING_WENT_WRONG
    assert "slash command /mycoupons failed" in caplog.text
