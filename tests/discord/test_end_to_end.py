"""End to end on Discord: real discord.py objects through the REST emulator and the gateway feed, the real
core on a real Redis, campaigns and the dispatcher on a manual clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.console import RecordingMessenger
from bot import formatting
from bot.clock import ManualClock
from bot.domain import Identity, Interaction, InteractionKind, Platform
from tests.discord.classroom import Classroom, classroom
from tests.discord.scene import COURSE, Scene, learner
from tests.emulators.discord_api import DiscordEmulator

STREAM = "https://youtube.com/live/abc"


async def test_a_live_class_from_the_announcement_to_the_coupon_in_a_direct_message(room: Classroom) -> None:
    scene, api = room.scene, room.api
    started = room.clock.now()

    # The teacher goes live: the announcement with its button is in the channel.
    await room.command(scene.teacher, "class live", url=STREAM, title="Decorators")
    await room.deliver()
    [announcement] = room.posts()

    # Ada presses it and gets her personal link, privately.
    joined = room.answer(await room.press(scene.ada, announcement, "Join the live class"))
    assert (joined.ephemeral, joined.content) == (
        True,
        f"Here is your personal link to **Decorators**: <{STREAM}>",
    )

    # She asks, reacts and sits in the stage channel for the class.
    await room.say(scene.ada, "Can decorators take arguments?")
    await room.feed.dispatch(
        "MESSAGE_REACTION_ADD", scene.server.reaction(scene.general, announcement.id, scene.ada)
    )
    await room.feed.dispatch(
        "VOICE_STATE_UPDATE", scene.server.voice_state(scene.ada, scene.stage, "voice-1")
    )
    await room.advance(started + timedelta(minutes=45))
    await room.feed.dispatch("VOICE_STATE_UPDATE", scene.server.voice_state(scene.ada, None, "voice-1"))

    # The teacher asks who is hot, privately: Ada, with the reasons.
    hot = room.answer(await room.command(scene.teacher, "class hot"))
    assert hot.ephemeral
    lines = hot.content.splitlines()
    assert lines[0] == "🔥 Hot leads in **Decorators**:"
    assert lines[1].startswith("1. **Ada** \\(hot, ")
    assert lines[1].endswith("): watched 45 of 45 min, asked a question, reacted once")

    # The class ends; half an hour later the hot learner's coupon arrives by direct message.
    ended = room.answer(await room.command(scene.teacher, "class end"))
    assert ended.content.startswith("Class **Decorators** ended after 45 min. 1 learners took part; hot 1")
    await room.advance(started + timedelta(minutes=45 + 30))

    [coupon] = await room.app.store.coupons.for_learner(learner(scene.ada.id))
    with_coupon = [m for m in api.dms(scene.ada.id) if coupon.code in m.content]
    assert len(with_coupon) == 1
    assert with_coupon[0].content.startswith("Thanks for an active class, Ada! Here is 20% off on Python 101")
    assert f"`{coupon.code}`" in with_coupon[0].content
    assert coupon.code not in "".join(m.content for m in room.posts())


async def test_a_learner_with_closed_dms_is_mentioned_in_the_class_channel_with_nothing_personal(
    room: Classroom,
) -> None:
    scene, api = room.scene, room.api
    api.close_dms(scene.bo.id)
    await room.say(scene.bo, "Hi all")  # Bo is a learner of the course

    await room.command(scene.teacher, "class live", url=STREAM, title="Decorators")
    await room.advance(room.clock.now())  # "we-are-live" goes out: a personal link to each learner

    assert api.dms(scene.bo.id) == []
    profile = await room.app.store.learners.get(learner(scene.bo.id))
    assert profile is not None
    assert Platform.DISCORD in profile.unreachable  # never retried by direct message
    [mention] = [m for m in room.posts() if m.content.startswith(f"<@{scene.bo.id}>")]
    assert mention.content == (
        f"<@{scene.bo.id}>, I have a message for you about **Python 101** but cannot write to you privately. "
        "Press the button to open it."
    )
    assert STREAM not in mention.content
    assert [(b["label"], b["custom_id"]) for b in mention.buttons] == [
        ("Open my messages", f"start:{COURSE}:c1")
    ]
    assert api.count(403, route="messages") == 1  # one refused attempt, no retries

    opened = room.answer(await room.press(scene.bo, mention, "Open my messages"))
    assert opened.ephemeral
    assert "Privacy Settings" in opened.content


async def test_teachers_by_id_or_role_may_teach_and_learners_may_not(room: Classroom) -> None:
    scene = room.scene

    refused = room.answer(await room.command(scene.ada, "class live", url=STREAM))
    by_role = room.answer(await room.command(scene.assistant, "class live", url=STREAM, title="Decorators"))
    await room.deliver()
    by_id = room.answer(await room.command(scene.teacher, "class end"))

    assert refused.content == "Sorry, only the teachers of Python 101 can do that."
    assert by_role.content.startswith("🔴 **Decorators** is live: announced in 2 chat")
    assert by_id.content.startswith("Class **Decorators** ended")
    assert len(room.posts()) == 1


@pytest.fixture
def telegram() -> RecordingMessenger:
    return RecordingMessenger(Platform.TELEGRAM)


async def test_linking_merges_a_telegram_and_a_discord_learner_who_then_gets_one_follow_up(
    discord_api: DiscordEmulator,
    redis_url: str,
    clock: ManualClock,
    scene: Scene,
    telegram: RecordingMessenger,
) -> None:
    async with classroom(discord_api, redis_url, clock, scene, telegram=telegram) as room:
        app, ada_tg = room.app, Identity(Platform.TELEGRAM, "7")
        started = clock.now()
        await app.learner.start(
            ada_tg, "tg-start-1", name="Ada", course_id=COURSE
        )  # Ada started the bot on Telegram
        await room.command(scene.teacher, "class live", url=STREAM, title="Decorators")
        await room.deliver()
        [announcement] = room.posts()

        # Ada follows the class from both accounts: she chats on Telegram, joins and asks on Discord.
        await app.store.intake.ingest(
            [
                Interaction(
                    InteractionKind.MESSAGE,
                    Platform.TELEGRAM,
                    "tg-msg-1",
                    COURSE,
                    "tg-7",
                    clock.now(),
                    class_id="c1",
                )
            ]
        )
        await room.press(scene.ada, announcement, "Join the live class")
        await room.feed.dispatch("VOICE_STATE_UPDATE", scene.server.voice_state(scene.ada, scene.stage, "v1"))
        await room.advance(started + timedelta(minutes=40))
        await room.say(scene.ada, "Will the slides be shared?")

        # She links the accounts: /link on Telegram gave a code, /link CODE on Discord.
        code = formatting.plain((await app.linking.request(ada_tg)).text).split("Your link code: ")[1][:8]
        linked = room.answer(await room.command(scene.ada, "link", code=code))
        assert linked.content.startswith("Done: your accounts are linked.")

        await room.command(scene.teacher, "class end")
        await room.advance(started + timedelta(hours=4))

        # One learner: one history, one score, one follow-up (on Discord, where she was last active).
        assert await app.store.learners.resolve(Identity(Platform.DISCORD, str(scene.ada.id))) == "tg-7"
        totals = await app.store.client.hgetall(app.store.keys.learner_class(COURSE, "c1", "tg-7"))
        assert (totals["message"], totals["question"]) == ("1", "1")
        follow_ups = [
            m.content for m in discord_api.dms(scene.ada.id) if not m.content.startswith("We are live")
        ] + [s.rendered for s in telegram.sent if s.message.private and s.message.step_id != "we-are-live"]
        assert len(follow_ups) == 1, follow_ups
        [coupon] = await app.store.coupons.for_learner("tg-7")
        assert coupon.code in follow_ups[0]
