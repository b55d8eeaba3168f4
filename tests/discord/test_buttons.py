"""ClassPulse's buttons: answered privately from their custom_id alone, by whichever bot process runs."""

from __future__ import annotations

from datetime import timedelta

from adapters.discord.buttons import DMS_CLOSED, DMS_OPEN
from bot import formatting
from bot.domain import Identity, OutboundMessage, Platform
from campaigns.fallback import group_mention
from tests.discord.classroom import Classroom
from tests.discord.scene import COURSE, learner
from tests.emulators.discord_api import RecordedMessage

STREAM = "https://youtube.com/live/abc"


async def announce(room: Classroom) -> RecordedMessage:
    await room.command(room.scene.teacher, "class live", url=STREAM, title="Decorators")
    await room.deliver()
    [announcement] = room.posts()
    return announcement


# ------------------------------------------------------------------------------------------------- join


async def test_join_answers_with_the_personal_link_privately_and_records_the_join(room: Classroom) -> None:
    announcement = await announce(room)

    pressed = await room.press(room.scene.ada, announcement, "Join the live class")

    answer = room.answer(pressed)
    assert answer.ephemeral
    assert answer.content == f"Here is your personal link to **Decorators**: <{STREAM}>"
    assert await room.events() == [("join", f"press:{pressed.id}", learner(room.scene.ada.id), "c1")]


async def test_a_press_the_gateway_delivers_twice_is_recorded_and_answered_once(room: Classroom) -> None:
    announcement = await announce(room)
    server, scene = room.scene.server, room.scene
    press = server.button_press(
        room.api.application_id,
        scene.general,
        scene.ada,
        room.api._message_json(announcement),
        announcement.buttons[0]["custom_id"],
    )

    await room.feed.burst([("INTERACTION_CREATE", press), ("INTERACTION_CREATE", press)])

    issued = room.api.interactions[int(press["id"])]
    assert sorted(c.status for c in issued.callbacks) == [200, 400]
    assert [e[0] for e in await room.events()] == ["join"]


async def test_join_after_the_class_ended_says_so(room: Classroom) -> None:
    announcement = await announce(room)
    await room.command(room.scene.teacher, "class end")

    answer = room.answer(await room.press(room.scene.ada, announcement, "Join the live class"))

    assert answer.content.startswith("**Decorators** has ended. The replay: [watch]")
    assert [e[0] for e in await room.events()] == []


async def test_an_old_button_works_after_the_bot_restarts(room: Classroom) -> None:
    announcement = await announce(room)

    await room.restart()
    answer = room.answer(await room.press(room.scene.bo, announcement, "Join the live class"))

    assert answer.content == f"Here is your personal link to **Decorators**: <{STREAM}>"


# ------------------------------------------------------------------------------------------------ claim


async def claimable(room: Classroom, minutes: int = 5) -> RecordedMessage:
    await announce(room)
    await room.command(room.scene.teacher, "offer", pool="hot-48h", minutes=minutes)
    [offer] = [m for m in room.posts() if m.buttons and m.buttons[0]["label"] == "Claim offer"]
    return offer


async def test_claim_answers_with_the_learners_own_code_privately(room: Classroom) -> None:
    offer = await claimable(room)

    pressed = await room.press(room.scene.ada, offer, "Claim offer")

    answer = room.answer(pressed)
    [coupon] = await room.app.store.coupons.for_learner(learner(room.scene.ada.id))
    assert answer.ephemeral
    assert answer.content.startswith(f"Your code for **20% off Python 101**: `{coupon.code}` \\(valid until ")
    assert [(b["label"], b.get("url")) for b in answer.buttons] == [
        ("Enrol now", "https://shop.example.com/python101")
    ]
    assert ("offer_click", f"press:{pressed.id}") in [e[:2] for e in await room.events()]
    assert coupon.code not in "".join(m.content for m in room.posts())  # never in the channel


async def test_claiming_after_the_offer_ended_is_refused(room: Classroom) -> None:
    offer = await claimable(room, minutes=5)
    room.clock.advance(timedelta(minutes=5))

    answer = room.answer(await room.press(room.scene.ada, offer, "Claim offer"))

    assert answer.content == "Sorry, this flash offer has ended."
    assert await room.app.store.coupons.for_learner(learner(room.scene.ada.id)) == []


# ---------------------------------------------------------------------------------------- open my messages


async def fallback_mention(room: Classroom) -> RecordedMessage:
    """Bo's direct messages are closed: a campaign step found him unreachable and mentioned him instead."""
    bo = await room.app.store.learners.resolve(Identity(Platform.DISCORD, str(room.scene.bo.id)), "Bo")
    await room.app.store.learners.mark_unreachable(bo, Platform.DISCORD, "closed DMs (50007)")
    room.api.close_dms(room.scene.bo.id)
    original = OutboundMessage(
        "k1", Platform.DISCORD, str(room.scene.bo.id), "…", learner_id=bo, course_id=COURSE
    )
    mention = group_mention(
        original, Identity(Platform.DISCORD, str(room.scene.bo.id)), "Bo", room.app.config.courses[COURSE]
    )
    assert mention is not None
    await room.bot.messenger.send(mention)
    return room.posts()[-1]


async def test_open_my_messages_says_how_to_allow_direct_messages_while_they_are_closed(
    room: Classroom,
) -> None:
    mention = await fallback_mention(room)

    answer = room.answer(await room.press(room.scene.bo, mention, "Open my messages"))

    assert answer.ephemeral
    assert answer.content == formatting.render(DMS_CLOSED, Platform.DISCORD)
    profile = await room.app.store.learners.get(learner(room.scene.bo.id))
    assert profile is not None
    assert Platform.DISCORD in profile.unreachable


async def test_open_my_messages_once_they_are_open_writes_and_makes_the_learner_reachable_again(
    room: Classroom,
) -> None:
    mention = await fallback_mention(room)
    room.api.closed_dms.discard(room.scene.bo.id)  # Bo followed the instructions

    answer = room.answer(await room.press(room.scene.bo, mention, "Open my messages"))

    assert answer.content == formatting.render(DMS_OPEN, Platform.DISCORD)
    [welcome] = room.api.dms(room.scene.bo.id)
    assert welcome.content.startswith("Hello! This is where I will send your class links")
    profile = await room.app.store.learners.get(learner(room.scene.bo.id))
    assert profile is not None
    assert Platform.DISCORD not in profile.unreachable
    assert learner(room.scene.bo.id) in await room.app.store.activity.course_learners(COURSE)
