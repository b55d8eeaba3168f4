"""DiscordMessenger, the messenger port: discord.py's real HTTP client against the Discord emulator."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
import pytest
from aiohttp.test_utils import TestServer

from adapters.discord.messenger import DiscordMessenger, OneAtATime
from bot import formatting
from bot.domain import Button, DeliveryStatus, OutboundMessage, Platform
from tests.discord.scene import intents
from tests.emulators.discord_api import DiscordEmulator
from tests.emulators.snowflakes import snowflake

GUILD = snowflake()
CHANNEL = snowflake()
LEARNER = snowflake()


def group(text: str, *, key: str = "", chat: int = CHANNEL, **more: Any) -> OutboundMessage:
    key = key or f"k-{snowflake()}"
    return OutboundMessage(key, Platform.DISCORD, str(chat), text, private=False, **more)


def private(text: str, *, user: int = LEARNER, key: str = "", **more: Any) -> OutboundMessage:
    key = key or f"k-{snowflake()}"
    return OutboundMessage(key, Platform.DISCORD, str(user), text, private=True, **more)


@pytest.fixture
def messenger(client: discord.Client, discord_api: DiscordEmulator) -> DiscordMessenger:
    discord_api.add_channel(CHANNEL, guild_id=GUILD, name="python101")
    return DiscordMessenger(client, requests_per_second=200)


async def test_a_channel_message_is_delivered_rendered_as_discord_markdown(
    messenger: DiscordMessenger, discord_api: DiscordEmulator
) -> None:
    text = f"We are live: {formatting.bold('Loops & lists')} — ask *anything*"
    delivery = await messenger.send(group(text))

    assert delivery.status is DeliveryStatus.DELIVERED
    [sent] = discord_api.messages(CHANNEL)
    assert delivery.message_id == str(sent.id)
    assert sent.content == r"We are live: **Loops & lists** — ask \*anything\*"


async def test_mass_mentions_in_a_learner_supplied_name_never_ping_the_server(
    messenger: DiscordMessenger, discord_api: DiscordEmulator
) -> None:
    await messenger.send(group("Welcome, @everyone and @here!"))

    [sent] = discord_api.messages(CHANNEL)
    assert "@everyone" not in sent.content
    assert "@here" not in sent.content


async def test_a_private_message_opens_the_learners_dm_channel_once(
    messenger: DiscordMessenger, discord_api: DiscordEmulator
) -> None:
    first = await messenger.send(private("Your coupon: PY-7K2M"))
    second = await messenger.send(private("Reminder: class in 1h"))

    assert first.status is DeliveryStatus.DELIVERED
    assert second.status is DeliveryStatus.DELIVERED
    assert [m.content for m in discord_api.dms(LEARNER)] == [
        "Your coupon: PY\\-7K2M",
        "Reminder: class in 1h",
    ]
    assert len(discord_api.calls("dm")) == 1


async def test_buttons_become_link_buttons_and_custom_id_buttons_in_rows_of_five(
    messenger: DiscordMessenger, discord_api: DiscordEmulator
) -> None:
    buttons = (
        Button("Join the live class", callback="join:python101:c3"),
        Button("Enrol now", url="https://shop.example.com/python101"),
        *(Button(f"Option {i}", callback=f"opt:{i}") for i in range(5)),
    )
    await messenger.send(group("Pick one", buttons=buttons))

    [sent] = discord_api.messages(CHANNEL)
    assert [len(row["components"]) for row in sent.components] == [5, 2]
    join, enrol = sent.buttons[:2]
    assert (join["label"], join["custom_id"], join["style"]) == (
        "Join the live class",
        "join:python101:c3",
        1,
    )
    assert (enrol["url"], enrol["style"]) == ("https://shop.example.com/python101", 5)
    assert "custom_id" not in enrol


async def test_sent_buttons_are_not_kept_in_memory_by_discord_py(
    messenger: DiscordMessenger, client: discord.Client, discord_api: DiscordEmulator
) -> None:
    # Presses are for the bot's persistent handlers; a view kept per sent message would leak and shadow them.
    for i in range(3):
        await messenger.send(group(f"Class {i}", buttons=(Button("Join", callback=f"join:python101:c{i}"),)))

    assert client._connection._view_store.persistent_views == []
    assert not client._connection._view_store._views


async def test_an_edit_replaces_text_and_buttons_of_the_earlier_message(
    messenger: DiscordMessenger, discord_api: DiscordEmulator
) -> None:
    first = await messenger.send(
        group("We are live", buttons=(Button("Join", callback="join:python101:c1"),))
    )
    edit = group("The class has ended", edit_message_id=first.message_id)

    delivery = await messenger.send(edit)

    assert delivery.status is DeliveryStatus.DELIVERED
    assert delivery.message_id == first.message_id
    [message] = discord_api.messages(CHANNEL)
    assert message.content == "The class has ended"
    assert message.components == []
    assert message.history[0]["content"] == "We are live"


async def test_an_edit_of_a_message_that_is_gone_is_dropped(
    messenger: DiscordMessenger, discord_api: DiscordEmulator
) -> None:
    delivery = await messenger.send(group("Edited", edit_message_id=str(snowflake())))

    assert delivery.status is DeliveryStatus.DROPPED
    assert "unknown message" in delivery.reason


async def test_a_long_text_is_split_at_paragraphs_into_parts_discord_accepts(
    messenger: DiscordMessenger, discord_api: DiscordEmulator
) -> None:
    paragraphs = [f"Paragraph {i}: " + "lorem ipsum dolor sit amet. " * 20 for i in range(6)]
    buttons = (Button("Enrol", url="https://shop.example.com"),)

    delivery = await messenger.send(group("\n\n".join(paragraphs), buttons=buttons))

    sent = discord_api.messages(CHANNEL)
    assert len(sent) > 1
    assert all(len(m.content) <= 2000 for m in sent)
    assert all(m.content.startswith("Paragraph") for m in sent)  # every part starts a paragraph
    assert [bool(m.buttons) for m in sent] == [False] * (len(sent) - 1) + [True]
    assert delivery.message_id == str(sent[-1].id)


async def test_a_message_sent_again_with_the_same_key_is_not_posted_twice(
    messenger: DiscordMessenger, discord_api: DiscordEmulator
) -> None:
    # E.g. the dispatcher retries after a timeout although Discord had received the first send.
    first = await messenger.send(group("Offer: 20% off", key="camp:hot-offer:c1:dc-42"))
    again = await messenger.send(group("Offer: 20% off", key="camp:hot-offer:c1:dc-42"))

    assert first.message_id == again.message_id
    assert len(discord_api.messages(CHANNEL)) == 1
    assert discord_api.nonce_hits == 1


async def test_closed_dms_make_the_learner_unreachable_with_one_invalid_request(
    messenger: DiscordMessenger, discord_api: DiscordEmulator
) -> None:
    discord_api.close_dms(LEARNER)

    delivery = await messenger.send(private("Your coupon"))

    assert delivery.status is DeliveryStatus.UNREACHABLE
    assert "50007" in delivery.reason
    assert discord_api.count(403) == 1
    assert discord_api.invalid_requests == 1


async def test_a_channel_that_is_gone_drops_the_message_and_logs_the_channel_never_the_token(
    messenger: DiscordMessenger, discord_api: DiscordEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    gone = snowflake()
    with caplog.at_level(logging.DEBUG):
        delivery = await messenger.send(group("Hello", chat=gone))

    assert delivery.status is DeliveryStatus.DROPPED
    assert "unknown channel" in delivery.reason
    assert str(gone) in caplog.text
    assert discord_api.token not in caplog.text


async def test_missing_permissions_in_a_channel_drop_the_message(
    messenger: DiscordMessenger, discord_api: DiscordEmulator
) -> None:
    discord_api.fail(403, 50013, "Missing Permissions", route="messages")

    delivery = await messenger.send(group("Hello"))

    assert delivery.status is DeliveryStatus.DROPPED
    assert "missing permissions" in delivery.reason


async def test_a_discord_server_error_is_a_retry_with_the_reason(
    messenger: DiscordMessenger, discord_api: DiscordEmulator
) -> None:
    discord_api.fail(503, 0, "Service Unavailable", route="messages")

    delivery = await messenger.send(group("Hello"))

    assert delivery.status is DeliveryStatus.RETRY
    assert "503" in delivery.reason
    assert "Service Unavailable" in delivery.reason


async def test_a_passing_502_is_retried_by_discord_py_and_the_message_posted_once(
    messenger: DiscordMessenger, discord_api: DiscordEmulator
) -> None:
    discord_api.fail(502, route="messages")  # discord.py waits a second, then tries again

    delivery = await messenger.send(group("Hello"))

    assert delivery.status is DeliveryStatus.DELIVERED
    assert len(discord_api.messages(CHANNEL)) == 1
    assert [r.status for r in discord_api.calls("messages")] == [502, 200]


async def test_a_send_that_outlasts_its_timeout_is_a_retry(
    client: discord.Client, discord_api: DiscordEmulator
) -> None:
    discord_api.add_channel(CHANNEL, guild_id=GUILD)
    discord_api.fail(500, route="messages", times=None)  # discord.py would keep trying for half a minute
    messenger = DiscordMessenger(client, timeout=0.3)

    delivery = await messenger.send(group("Hello"))

    assert delivery.status is DeliveryStatus.RETRY
    assert "TimeoutError" in delivery.reason


async def test_a_429_is_waited_out_by_discord_py_and_the_message_delivered(
    messenger: DiscordMessenger, discord_api: DiscordEmulator
) -> None:
    discord_api.fail(429, route="messages", retry_after=0.05)

    delivery = await messenger.send(group("Hello"))

    assert delivery.status is DeliveryStatus.DELIVERED
    assert discord_api.count(429) == 1


async def test_a_long_rate_limit_becomes_a_retry_after_instead_of_a_blocked_sender(
    discord_api: DiscordEmulator,
) -> None:
    discord_api.add_channel(CHANNEL, guild_id=GUILD)
    bot = discord.Client(intents=intents(), max_ratelimit_timeout=30)
    await bot.login(discord_api.token)
    discord_api.fail(429, route="messages", retry_after=45.0)
    try:
        delivery = await DiscordMessenger(bot).send(group("Hello"))
    finally:
        await bot.close()

    assert delivery.status is DeliveryStatus.RETRY
    assert delivery.retry_after == 45.0
    assert discord_api.count(429) == 1


async def test_a_burst_into_one_channel_arrives_in_order_paced_by_the_route_bucket_without_a_single_429(
    messenger: DiscordMessenger, discord_api: DiscordEmulator
) -> None:
    messages = [group(f"Question {i} answered") for i in range(16)]

    deliveries = await asyncio.gather(*(messenger.send(m) for m in messages))

    assert all(d.status is DeliveryStatus.DELIVERED for d in deliveries)
    assert [m.content for m in discord_api.messages(CHANNEL)] == [f"Question {i} answered" for i in range(16)]
    assert discord_api.count(429) == 0
    assert discord_api.invalid_requests == 0


async def test_a_burst_across_many_channels_stays_under_the_global_limit(
    discord_api: DiscordEmulator, client: discord.Client
) -> None:
    # The emulator's global limit here: 10 requests per 0.2 s (Discord: 50 per second); discord.py does not
    # pace the global limit by itself, the messenger's pacer does.
    discord_api.set_global_limit(10, 0.2)
    channels = [snowflake() for _ in range(30)]
    for channel in channels:
        discord_api.add_channel(channel, guild_id=GUILD)
    messenger = DiscordMessenger(client, requests_per_second=40)

    deliveries = await asyncio.gather(*(messenger.send(group("Class starts!", chat=c)) for c in channels))

    assert all(d.status is DeliveryStatus.DELIVERED for d in deliveries)
    assert discord_api.count(429) == 0


async def test_a_rejected_token_stops_all_further_requests(
    messenger: DiscordMessenger, discord_api: DiscordEmulator
) -> None:
    discord_api.fail(401, 0, "401: Unauthorized", route="messages")

    first = await messenger.send(group("Hello"))
    second = await messenger.send(group("Hello again"))

    assert first.status is DeliveryStatus.RETRY
    assert second.status is DeliveryStatus.RETRY
    assert "token" in second.reason
    assert discord_api.count(401) == 1  # the second send made no request at all


@pytest.mark.parametrize(
    ("message", "why"),
    [
        (OutboundMessage(key="k", platform=Platform.TELEGRAM, chat_id="1", text="hi"), "telegram message"),
        (
            OutboundMessage(key="k", platform=Platform.DISCORD, chat_id="general", text="hi"),
            "not a Discord id",
        ),
        (OutboundMessage(key="k", platform=Platform.DISCORD, chat_id="1", text="  "), "empty message"),
        (
            OutboundMessage(
                key="k",
                platform=Platform.DISCORD,
                chat_id="1",
                text="hi",
                buttons=(Button("x" * 81, url="https://a"),),
            ),
            "label",
        ),
        (
            OutboundMessage(
                key="k",
                platform=Platform.DISCORD,
                chat_id="1",
                text="hi",
                buttons=(Button("A", callback="join:py:c1"), Button("B", callback="join:py:c1")),
            ),
            "same callback",
        ),
    ],
)
async def test_messages_discord_cannot_show_are_dropped_without_a_request(
    messenger: DiscordMessenger, discord_api: DiscordEmulator, message: OutboundMessage, why: str
) -> None:
    before = len(discord_api.requests)

    delivery = await messenger.send(message)

    assert delivery.status is DeliveryStatus.DROPPED
    assert why in delivery.reason
    assert len(discord_api.requests) == before


async def test_a_network_failure_is_a_retry(
    client: discord.Client, discord_api: DiscordEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = TestServer(discord_api.app)
    await dead.start_server()
    url = discord_api.base_url(dead)
    await dead.close()  # nothing listens there any more
    messenger = DiscordMessenger(client)
    monkeypatch.setattr(discord.http.Route, "BASE", url)

    delivery = await messenger.send(group("Hello"))

    assert delivery.status is DeliveryStatus.RETRY
    assert "network" in delivery.reason


async def test_a_poll_is_posted_natively_and_once_for_its_key(
    messenger: DiscordMessenger, discord_api: DiscordEmulator
) -> None:
    first = await messenger.post_poll(str(CHANNEL), "Next topic?", ["Generators", "Async"], key="poll-1")
    again = await messenger.post_poll(str(CHANNEL), "Next topic?", ["Generators", "Async"], key="poll-1")

    assert first.status is DeliveryStatus.DELIVERED
    assert again.message_id == first.message_id
    [posted] = discord_api.messages(CHANNEL)
    assert posted.poll is not None
    assert [a["poll_media"]["text"] for a in posted.poll["answers"]] == ["Generators", "Async"]


async def test_a_poll_discord_refuses_is_dropped_with_the_reason(
    messenger: DiscordMessenger, discord_api: DiscordEmulator
) -> None:
    delivery = await messenger.post_poll(str(CHANNEL), "Pick", ["x" * 56, "y"], key="poll-2")

    assert delivery.status is DeliveryStatus.DROPPED
    assert "Invalid Form Body" in delivery.reason


async def test_sends_to_one_chat_take_turns_and_the_chat_is_forgotten_after() -> None:
    chats = OneAtATime()
    inside: list[str] = []
    most = 0

    async def send(chat: str) -> None:
        nonlocal most
        async with chats.turn(chat):
            inside.append(chat)
            most = max(most, inside.count(chat))
            await asyncio.sleep(0.01)
            inside.remove(chat)

    await asyncio.gather(*(send(chat) for chat in ["1", "1", "2", "1", "2"]))

    assert most == 1  # never two sends in one chat at once
    assert not chats.busy()  # nothing kept for chats nobody is sending to
