"""Learners' slash commands: /stop, /resume, /mycoupons, /link, each answered privately."""

from __future__ import annotations

from bot import formatting
from bot.domain import Identity, Platform
from tests.discord.classroom import Classroom
from tests.discord.scene import learner


async def test_stop_opts_out_at_once_and_resume_opts_back_in(room: Classroom) -> None:
    ada = room.scene.ada

    stopped = room.answer(await room.command(ada, "stop"))
    profile = await room.app.store.learners.get(learner(ada.id))
    assert profile is not None
    assert profile.opted_out
    resumed = room.answer(await room.command(ada, "resume"))
    profile = await room.app.store.learners.get(learner(ada.id))
    assert profile is not None
    assert not profile.opted_out

    assert stopped.ephemeral
    assert resumed.ephemeral
    assert stopped.content.startswith("Done: no more offers or reminders from me.")
    assert resumed.content.startswith("Welcome back")
    assert [e[0] for e in await room.events()] == ["opt_out", "opt_in"]  # recorded for the channel's course


async def test_my_coupons_lists_the_learners_codes_privately(room: Classroom) -> None:
    ada = room.scene.ada
    empty = room.answer(await room.command(ada, "mycoupons"))
    await room.command(room.scene.teacher, "class live", url="https://youtube.com/live/abc")
    await room.command(room.scene.teacher, "offer", pool="warm-7d", minutes=5)
    [offer] = [m for m in room.posts() if m.buttons and m.buttons[0]["label"] == "Claim offer"]
    await room.press(ada, offer, "Claim offer")

    listed = room.answer(await room.command(ada, "mycoupons"))

    assert empty.content == "You have no coupons yet."
    [coupon] = await room.app.store.coupons.for_learner(learner(ada.id))
    assert listed.ephemeral
    assert listed.content.splitlines() == [
        "Your coupons:",
        f"• `{coupon.code}` — {coupon.label} on Python 101 \\(valid until Mon 09 Nov 09:00\\)",
    ]


async def test_link_without_a_code_gives_a_code_for_telegram(room: Classroom) -> None:
    answer = room.answer(await room.command(room.scene.ada, "link"))

    assert answer.ephemeral
    assert answer.content.startswith("Your link code: `")
    assert "to me on Telegram within 10 minutes" in answer.content


async def test_link_with_a_code_from_telegram_makes_both_accounts_one_learner(room: Classroom) -> None:
    telegram = Identity(Platform.TELEGRAM, "7")
    asked = await room.app.linking.request(telegram)
    code = formatting.plain(asked.text).split("Your link code: ")[1].split(".")[0]

    answer = room.answer(await room.command(room.scene.ada, "link", code=code.lower()))

    assert (answer.ephemeral, answer.content) == (
        True,
        "Done: your accounts are linked. I will write to you where you were last active.",
    )
    discord_identity = Identity(Platform.DISCORD, str(room.scene.ada.id))
    assert await room.app.store.learners.resolve(discord_identity) == "tg-7"


async def test_a_wrong_link_code_is_refused_politely(room: Classroom) -> None:
    answer = room.answer(await room.command(room.scene.ada, "link", code="NOPE"))

    assert answer.content == ("A link code has 8 letters and digits; /link without a code gives you one.")
