"""Inbound: real gateway payloads, parsed by discord.py, mapped by the inbound cog, recorded in Redis."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import discord
import pytest

from adapters.discord.listeners import CONTENT_INTENT_OFF
from adapters.redis import RedisStore
from bot.clock import ManualClock
from bot.domain import is_question
from tests.discord.scene import COURSE, Listening, Scene, learner, listening
from tests.emulators.discord_api import DiscordEmulator
from tests.emulators.snowflakes import snowflake


@pytest.fixture
async def world(
    discord_api: DiscordEmulator, store: RedisStore, clock: ManualClock, scene: Scene
) -> AsyncIterator[Listening]:
    running = await listening(discord_api, store, clock, scene)
    yield running
    await running.bot.close()


# ------------------------------------------------------------------------------------------------ messages


async def test_a_message_in_a_course_channel_counts_for_the_learner_in_the_live_class(
    world: Listening, scene: Scene
) -> None:
    await world.start_class("c1")

    await world.feed.dispatch("MESSAGE_CREATE", scene.server.message(scene.general, scene.ada, "Loving this"))

    [event] = await world.events()
    assert (event["kind"], event["learner"], event["class"]) == ("message", learner(scene.ada.id), "c1")
    assert event["data"] == {"length": 11}
    profile = await world.store.learners.get(learner(scene.ada.id))
    assert profile is not None
    assert profile.name == "Ada"


async def test_a_message_ending_with_a_question_mark_is_a_question_kept_for_the_teacher(
    world: Listening, scene: Scene
) -> None:
    await world.feed.dispatch(
        "MESSAGE_CREATE", scene.server.message(scene.general, scene.ada, "Is a list mutable? ")
    )
    await world.feed.dispatch(
        "MESSAGE_CREATE", scene.server.message(scene.general, scene.bo, "列表可以修改吗？")
    )

    events = await world.events()
    assert [e["kind"] for e in events] == ["question", "question"]
    assert events[0]["data"]["text"] == "Is a list mutable?"
    assert events[0]["class"] == ""  # no class is live


async def test_a_message_delivered_twice_by_the_gateway_counts_once(world: Listening, scene: Scene) -> None:
    payload = scene.server.message(scene.general, scene.ada, "hello")

    await world.feed.dispatch("MESSAGE_CREATE", payload)
    await world.feed.dispatch("MESSAGE_CREATE", payload)

    assert await world.kinds() == ["message"]


async def test_messages_outside_course_channels_and_from_teachers_and_bots_are_not_learner_activity(
    world: Listening, scene: Scene
) -> None:
    server = scene.server
    for payload in [
        server.message(scene.offtopic, scene.ada, "not a course channel"),
        server.message(scene.general, scene.teacher, "welcome everyone"),
        server.message(scene.general, scene.assistant, "I teach by role"),
        server.message(scene.general, scene.robot, "beep"),
    ]:
        await world.feed.dispatch("MESSAGE_CREATE", payload)

    assert await world.events() == []


async def test_a_message_in_a_thread_of_a_course_channel_counts_for_the_course(
    world: Listening, scene: Scene
) -> None:
    thread, created = scene.server.thread(scene.general, scene.ada, "Homework")
    await world.feed.dispatch("THREAD_CREATE", created)

    await world.feed.dispatch("MESSAGE_CREATE", scene.server.message(thread, scene.ada, "Done?"))

    assert await world.kinds() == ["question"]


async def test_without_the_message_content_intent_messages_count_and_the_loss_is_logged_once(
    discord_api: DiscordEmulator,
    store: RedisStore,
    clock: ManualClock,
    scene: Scene,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="adapters.discord"):
        blind = await listening(discord_api, store, clock, scene, content_intent=False)
        try:
            for text in ["What is a tuple?", "thanks"]:
                # Without the intent Discord itself leaves the content out.
                payload = scene.server.message(scene.general, scene.ada, text, content_intent=False)
                await blind.feed.dispatch("MESSAGE_CREATE", payload)
        finally:
            await blind.bot.close()

    events = await blind.events()
    assert [(e["kind"], e["data"]) for e in events] == [("message", {}), ("message", {})]
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("adapters.discord")]
    assert ours == [CONTENT_INTENT_OFF]
    assert "questions cannot be told apart" in CONTENT_INTENT_OFF


# -------------------------------------------------------------------------------- reactions, polls, joins


async def test_a_reaction_counts_once_per_person_message_and_emoji(world: Listening, scene: Scene) -> None:
    message_id = snowflake()
    server = scene.server
    await world.feed.dispatch(
        "MESSAGE_REACTION_ADD", server.reaction(scene.general, message_id, scene.ada, "🔥")
    )
    await world.feed.dispatch(
        "MESSAGE_REACTION_ADD", server.reaction(scene.general, message_id, scene.ada, "🔥")
    )
    await world.feed.dispatch(
        "MESSAGE_REACTION_ADD", server.reaction(scene.general, message_id, scene.ada, "👍")
    )
    await world.feed.dispatch(
        "MESSAGE_REACTION_ADD", server.reaction(scene.general, message_id, scene.teacher)
    )
    await world.feed.dispatch("MESSAGE_REACTION_ADD", server.reaction(scene.offtopic, message_id, scene.bo))

    events = await world.events()
    assert [(e["kind"], e["learner"]) for e in events] == [("reaction", learner(scene.ada.id))] * 2
    assert [e["data"]["emoji"] for e in events] == ["🔥", "👍"]


async def test_a_poll_answer_counts_once_per_person_and_poll(world: Listening, scene: Scene) -> None:
    await world.start_class("c1")
    poll_id = snowflake()
    server = scene.server

    await world.feed.dispatch("MESSAGE_POLL_VOTE_ADD", server.poll_vote(scene.general, poll_id, scene.ada, 1))
    await world.feed.dispatch("MESSAGE_POLL_VOTE_ADD", server.poll_vote(scene.general, poll_id, scene.ada, 2))
    await world.feed.dispatch("MESSAGE_POLL_VOTE_ADD", server.poll_vote(scene.general, poll_id, scene.bo, 2))
    await world.feed.dispatch(
        "MESSAGE_POLL_VOTE_ADD", server.poll_vote(scene.general, poll_id, scene.assistant, 1)
    )

    events = await world.events()
    assert [(e["kind"], e["learner"], e["data"]["answer"]) for e in events] == [
        ("poll_answer", learner(scene.ada.id), 1),
        ("poll_answer", learner(scene.bo.id), 2),
    ]
    assert {e["class"] for e in events} == {"c1"}


async def test_joining_the_server_enrols_the_newcomer_in_the_course(world: Listening, scene: Scene) -> None:
    newcomer = scene.server.newcomer("Cy")

    await world.feed.dispatch("GUILD_MEMBER_ADD", scene.server.member_add(newcomer))

    [event] = await world.events()
    assert (event["kind"], event["learner"], event["class"], event["data"]) == (
        "join",
        learner(newcomer.id),
        "",
        {"where": "server"},
    )
    assert learner(newcomer.id) in await world.store.activity.course_learners(COURSE)


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("Why?", True),
        ("why ?  \n", True),
        ("为什么？", True),
        ("Why not.", False),
        ("? is odd", False),
        ("", False),
    ],
)
def test_a_question_is_text_that_ends_with_a_question_mark(text: str, question: bool) -> None:
    assert is_question(text) is question


async def test_a_direct_message_to_the_bot_is_not_course_activity(
    world: Listening, scene: Scene, discord_api: DiscordEmulator
) -> None:
    dm = await world.bot.create_dm(discord.Object(id=scene.ada.id))
    payload = scene.server.message(scene.general, scene.ada, "hi bot")
    payload["channel_id"] = str(dm.id)
    del payload["guild_id"], payload["member"]

    await world.feed.dispatch("MESSAGE_CREATE", payload)

    assert await world.events() == []
