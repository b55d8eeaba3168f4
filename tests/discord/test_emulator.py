"""The Discord emulator behaves like Discord where discord.py and ClassPulse depend on it.

Driven through discord.py's real client: login, command sync, interaction responses (the 3-second rule,
ephemeral answers, deferrals, follow-ups), rate-limit headers, persistent buttons across a restart.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import aiohttp
import discord
import pytest
from discord import app_commands

from tests.discord.scene import intents
from tests.emulators.discord_api import EPHEMERAL, DiscordEmulator
from tests.emulators.discord_gateway import GatewayFeed, Server
from tests.emulators.snowflakes import snowflake


async def test_a_wrong_token_is_refused_with_401_and_counted_as_invalid(discord_api: DiscordEmulator) -> None:
    client = discord.Client(intents=intents())
    try:
        with pytest.raises(discord.LoginFailure):
            await client.login("not-the-token")
    finally:
        await client.close()

    assert discord_api.count(401) == 1
    assert discord_api.invalid_requests == 1


async def test_login_learns_the_application_and_its_privileged_intents(
    client: discord.Client, discord_api: DiscordEmulator
) -> None:
    assert client.application_id == discord_api.application_id
    assert client.application is not None
    assert client.application.flags.gateway_message_content
    assert client.application.flags.gateway_guild_members
    shards, url, _limits = await client.http.get_bot_gateway()
    assert shards == 1
    assert url == discord.http.Route.BASE.replace("http://", "ws://").replace("/api/v10", "/gateway")


async def test_responses_carry_rate_limit_headers_of_a_bucket_per_channel(
    discord_api: DiscordEmulator, client: discord.Client
) -> None:
    discord_api.add_channel(1001)
    discord_api.add_channel(1002)
    async with aiohttp.ClientSession() as session:
        url = discord.http.Route.BASE + "/channels/{}/messages"
        auth = {"Authorization": f"Bot {discord_api.token}"}
        first = await session.post(url.format(1001), json={"content": "a"}, headers=auth)
        again = await session.post(url.format(1001), json={"content": "b"}, headers=auth)
        other = await session.post(url.format(1002), json={"content": "c"}, headers=auth)

    assert first.headers["X-RateLimit-Limit"] == "5"
    assert first.headers["X-RateLimit-Remaining"] == "4"
    assert again.headers["X-RateLimit-Remaining"] == "3"
    assert other.headers["X-RateLimit-Remaining"] == "4"  # another channel, another bucket
    assert first.headers["X-RateLimit-Bucket"] == other.headers["X-RateLimit-Bucket"]
    assert float(first.headers["X-RateLimit-Reset-After"]) <= 0.25
    assert float(first.headers["X-RateLimit-Reset"]) > datetime.now(UTC).timestamp() - 1


async def test_over_the_limit_discord_answers_429_with_retry_after(discord_api: DiscordEmulator) -> None:
    discord_api.add_channel(1001)
    url = discord.http.Route.BASE + "/channels/1001/messages"
    auth = {"Authorization": f"Bot {discord_api.token}"}
    async with aiohttp.ClientSession() as session:
        answers = [await session.post(url, json={"content": str(i)}, headers=auth) for i in range(6)]
        body = await answers[-1].json()

    assert [a.status for a in answers] == [200] * 5 + [429]
    assert body["global"] is False
    assert 0 < body["retry_after"] <= 0.25
    assert answers[-1].headers["Via"]
    assert discord_api.invalid_requests == 1


class Teaching(app_commands.Group):
    """Run the live class."""

    def __init__(self, answers: list[str]) -> None:
        super().__init__(name="class", description="Run the live class")
        self.answers = answers

    @app_commands.command(name="hot", description="Who is hot right now")
    async def hot(self, interaction: discord.Interaction, count: int = 10) -> None:
        self.answers.append(f"hot {count}")
        await interaction.response.send_message(f"Top {count}", ephemeral=True)

    @app_commands.command(name="end", description="End the live class")
    async def end(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content="Class ended after 58 min.")
        await interaction.followup.send("Follow-ups are scheduled.", ephemeral=True)


@dataclass
class TeacherBot:
    client: discord.Client
    tree: app_commands.CommandTree[discord.Client]
    answers: list[str]


@pytest.fixture
async def teacher_bot(discord_api: DiscordEmulator, server: Server) -> AsyncIterator[TeacherBot]:
    client = discord.Client(intents=intents(), guild_ready_timeout=0.01)
    tree = app_commands.CommandTree(client)
    answers: list[str] = []
    tree.add_command(Teaching(answers), guild=discord.Object(server.id))
    await client.login(discord_api.token)
    yield TeacherBot(client, tree, answers)
    await client.close()


async def test_syncing_records_the_command_tree_per_guild_and_globally(
    teacher_bot: TeacherBot, discord_api: DiscordEmulator, server: Server
) -> None:
    synced = await teacher_bot.tree.sync(guild=discord.Object(server.id))
    await teacher_bot.tree.sync()

    assert [c.name for c in synced] == ["class"]
    assert discord_api.command_names(server.id) == ["class", "class hot", "class end"]
    assert discord_api.commands[None] == []


async def test_a_command_discord_would_refuse_is_refused(
    client: discord.Client, discord_api: DiscordEmulator
) -> None:
    with pytest.raises(discord.HTTPException) as caught:
        await client.http.bulk_upsert_global_commands(
            discord_api.application_id, payload=[{"name": "Class Hot", "description": "x", "type": 1}]
        )
    assert caught.value.code == 50035


async def test_a_slash_command_answered_in_time_gets_an_ephemeral_reply(
    teacher_bot: TeacherBot, discord_api: DiscordEmulator, server: Server
) -> None:
    feed = GatewayFeed(teacher_bot.client, discord_api)
    general = server.text_channel("general")
    teacher = server.person("teacher")
    await feed.connect(server)

    data = server.slash_command(
        discord_api.application_id, general, teacher, "class hot", [{"type": 4, "name": "count", "value": 3}]
    )
    await feed.dispatch("INTERACTION_CREATE", data)

    assert teacher_bot.answers == ["hot 3"]
    issued = discord_api.interactions[int(data["id"])]
    [callback] = issued.callbacks
    assert (callback.type, callback.ephemeral, callback.data["content"]) == (4, True, "Top 3")
    assert discord_api.message(issued.original_id or 0).ephemeral


async def test_an_answer_later_than_3_seconds_is_an_unknown_interaction(
    client: discord.Client, discord_api: DiscordEmulator, server: Server
) -> None:
    general = server.text_channel("general")
    learner = server.person("ada")
    feed = GatewayFeed(client, discord_api)
    await feed.connect(server)
    errors: list[discord.HTTPException] = []

    async def on_interaction(interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message("too late")
        except discord.NotFound as error:
            errors.append(error)

    client.event(on_interaction)
    long_ago = datetime.now(UTC) - timedelta(seconds=4)
    await feed.dispatch(
        "INTERACTION_CREATE",
        server.slash_command(discord_api.application_id, general, learner, "stop", created=long_ago),
    )

    assert [e.code for e in errors] == [10062]
    assert discord_api.count(404, route="callback") == 1


async def test_an_interaction_is_acknowledged_once(
    discord_api: DiscordEmulator, client: discord.Client
) -> None:
    interaction_id = snowflake()
    discord_api.issue_interaction(
        interaction_id, "tok", application_id=discord_api.application_id, channel_id=1, user_id=2
    )
    url = discord.http.Route.BASE + f"/interactions/{interaction_id}/tok/callback"
    async with aiohttp.ClientSession() as session:
        first = await session.post(url, json={"type": 5})
        second = await session.post(url, json={"type": 4, "data": {"content": "x"}})
        body = await second.json()

    assert (first.status, second.status, body["code"]) == (204, 400, 40060)


async def test_a_deferred_answer_is_completed_by_editing_the_original_and_followed_up(
    teacher_bot: TeacherBot, discord_api: DiscordEmulator, server: Server
) -> None:
    feed = GatewayFeed(teacher_bot.client, discord_api)
    general = server.text_channel("general")
    teacher = server.person("teacher")
    await feed.connect(server)

    data = server.slash_command(discord_api.application_id, general, teacher, "class end")
    await feed.dispatch("INTERACTION_CREATE", data)

    issued = discord_api.interactions[int(data["id"])]
    assert [c.type for c in issued.callbacks] == [5]
    original = discord_api.message(issued.original_id or 0)
    assert original.content == "Class ended after 58 min."
    assert not original.ephemeral
    [followup] = [discord_api.message(i) for i in issued.followups]
    assert followup.content == "Follow-ups are scheduled."
    assert followup.flags & EPHEMERAL


class JoinButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"join:(?P<course>[a-z0-9_-]+):(?P<cls>\w+)"
):
    """A persistent "Join the live class" button: any message's button with a matching custom_id."""

    pressed: ClassVar[list[tuple[str, str, int]]] = []

    def __init__(self, course: str, cls: str) -> None:
        super().__init__(discord.ui.Button(label="Join", custom_id=f"join:{course}:{cls}"))
        self.course, self.cls = course, cls

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> JoinButton:
        return cls(match["course"], match["cls"])

    async def callback(self, interaction: discord.Interaction) -> None:
        JoinButton.pressed.append((self.course, self.cls, interaction.user.id))
        await interaction.response.send_message("Your personal link: https://relay.example/x", ephemeral=True)


async def test_a_button_sent_before_a_restart_is_answered_by_the_restarted_bot(
    discord_api: DiscordEmulator, client: discord.Client, server: Server
) -> None:
    general = server.text_channel("general")
    learner = server.person("ada")
    discord_api.add_channel(general.id, guild_id=server.id)
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(label="Join", custom_id="join:python101:c7"))
    announcement = await client.get_partial_messageable(general.id).send("We are live", view=view)
    await client.close()  # the bot restarts: nothing of the first process is left

    restarted = discord.Client(intents=intents(), guild_ready_timeout=0.01)
    restarted.add_dynamic_items(JoinButton)
    await restarted.login(discord_api.token)
    try:
        feed = GatewayFeed(restarted, discord_api)
        await feed.connect(server)
        message = discord_api._message_json(discord_api.message(announcement.id))
        press = server.button_press(
            discord_api.application_id, general, learner, message, "join:python101:c7"
        )
        JoinButton.pressed.clear()
        await feed.dispatch("INTERACTION_CREATE", press)
    finally:
        await restarted.close()

    assert JoinButton.pressed == [("python101", "c7", learner.id)]
    [callback] = discord_api.interactions[int(press["id"])].callbacks
    assert callback.ephemeral
    assert "personal link" in callback.data["content"]


async def test_a_message_can_be_pinned(client: discord.Client, discord_api: DiscordEmulator) -> None:
    discord_api.add_channel(1001)
    message = await client.get_partial_messageable(1001).send("Class rules")

    await message.pin()

    assert discord_api.message(message.id).pinned


async def test_the_gateway_says_hello_answers_heartbeats_and_closes_on_a_wrong_token(
    discord_api: DiscordEmulator,
) -> None:
    url = discord.http.Route.BASE.replace("http://", "ws://").replace("/api/v10", "/gateway")
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as socket:
        hello = await socket.receive_json()
        await socket.send_json({"op": 1, "d": None})
        ack = await socket.receive_json()
        await socket.send_json({"op": 2, "d": {"token": "not-the-token", "intents": 0}})
        closing = await socket.receive()

    assert (hello["op"], ack["op"]) == (10, 11)
    assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 4004)
    assert discord_api.gateway.live == []


async def test_the_gateway_refuses_a_privileged_intent_the_application_was_not_granted(
    discord_api: DiscordEmulator,
) -> None:
    discord_api.privileged_intents = frozenset()
    members = 1 << 1
    url = discord.http.Route.BASE.replace("http://", "ws://").replace("/api/v10", "/gateway")
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as socket:
        await socket.receive_json()
        await socket.send_json({"op": 2, "d": {"token": discord_api.token, "intents": members}})
        closing = await socket.receive()

    assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 4014)


async def test_a_poll_outside_discords_limits_is_refused(
    client: discord.Client, discord_api: DiscordEmulator
) -> None:
    discord_api.add_channel(1001)
    poll = discord.Poll(question="Which?", duration=timedelta(hours=1))
    poll.add_answer(text="x" * 56)

    with pytest.raises(discord.HTTPException) as caught:
        await client.get_partial_messageable(1001).send(poll=poll)

    assert (caught.value.status, caught.value.code) == (400, 50035)
    assert discord_api.messages(1001) == []
