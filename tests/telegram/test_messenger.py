"""The Telegram messenger: what it sends, and how each failure of the Bot API comes back as a Delivery."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from aiogram import Bot

from adapters.redis import RedisStore
from adapters.telegram.client import make_bot
from adapters.telegram.deeplink import DeepLinks, StartPayload
from adapters.telegram.governor import RateGovernor
from adapters.telegram.messenger import TelegramMessenger
from adapters.telegram.polls import PollRegistry
from bot import formatting
from bot.clock import ManualClock
from bot.config.telegram import TelegramConfig, TelegramLimits
from bot.domain import Button, DeliveryStatus, OutboundMessage, Platform, callbacks
from tests.emulators.telegram_api import EmulatorLimits, Fault, MakeEmulator, TelegramEmulator


def out(chat_id: int | str, text: str, **fields: object) -> OutboundMessage:
    return OutboundMessage(
        key=str(fields.pop("key", f"k-{chat_id}-{hash(text)}")),
        platform=Platform.TELEGRAM,
        chat_id=str(chat_id),
        text=text,
        **fields,  # type: ignore[arg-type]
    )


async def test_group_and_private_messages_are_delivered_as_html(
    tg: TelegramEmulator, messenger: TelegramMessenger
) -> None:
    ann = tg.add_user("Ann", started=True)
    group = tg.add_group("Python 101", members=[ann])
    to_group = await messenger.send(out(group.id, f"{formatting.bold('Live')} now", private=False))
    to_ann = await messenger.send(
        out(ann.id, f"Your link: {formatting.link('watch', 'https://l.example/a?b=1&c=2')}")
    )
    assert to_group.status is DeliveryStatus.DELIVERED
    assert to_ann.status is DeliveryStatus.DELIVERED
    [group_message] = tg.messages(group.id)
    [private_message] = tg.messages(ann.id)
    assert group_message.raw == "<b>Live</b> now"
    assert group_message.parse_mode == "HTML"
    assert to_group.message_id == str(group_message.message_id)
    assert private_message.text == "Your link: watch"
    assert private_message.entities[0]["url"] == "https://l.example/a?b=1&c=2"


async def test_user_supplied_values_arrive_intact(tg: TelegramEmulator, messenger: TelegramMessenger) -> None:
    ann = tg.add_user("Ann", started=True)
    name = formatting.sanitize("<b>Bob & Co</b>")
    delivery = await messenger.send(out(ann.id, f"Hi {formatting.bold(name)}, 1 < 2 & 3 > 2"))
    assert delivery.status is DeliveryStatus.DELIVERED  # the emulator's HTML parser accepted it
    [message] = tg.messages(ann.id)
    assert message.text == "Hi <b>Bob & Co</b>, 1 < 2 & 3 > 2"
    assert [(e["type"], e["offset"], e["length"]) for e in message.entities] == [("bold", 3, len(name))]


async def test_url_and_callback_buttons_become_an_inline_keyboard(
    tg: TelegramEmulator, messenger: TelegramMessenger
) -> None:
    group = tg.add_group("Python 101")
    buttons = (
        Button("Join the live class", url="https://t.me/classpulse_test_bot?start=Jc1"),
        Button("Claim", callback="o:py:c1"),
    )
    await messenger.send(out(group.id, "We are live", buttons=buttons, private=False))
    [message] = tg.messages(group.id)
    assert message.buttons == [
        {"text": "Join the live class", "url": "https://t.me/classpulse_test_bot?start=Jc1"},
        {"text": "Claim", "callback_data": "o:py:c1"},
    ]


async def test_a_button_telegram_would_refuse_is_dropped_before_sending(
    tg: TelegramEmulator, messenger: TelegramMessenger
) -> None:
    group = tg.add_group("Python 101")
    delivery = await messenger.send(out(group.id, "x", buttons=(Button("Big", callback="x" * 65),)))
    assert delivery.status is DeliveryStatus.DROPPED
    assert "64 bytes" in delivery.reason
    assert tg.stats.calls["sendMessage"] == 0


async def test_an_edit_changes_the_earlier_message(
    tg: TelegramEmulator, messenger: TelegramMessenger
) -> None:
    group = tg.add_group("Python 101")
    claim = (Button("Claim", callback="o:py:c1"),)
    first = await messenger.send(out(group.id, "Ends in 10 min", buttons=claim, private=False))
    edited = await messenger.send(
        out(group.id, "Ends in 9 min", buttons=claim, edit_message_id=first.message_id, key="e1")
    )
    same = await messenger.send(
        out(group.id, "Ends in 9 min", buttons=claim, edit_message_id=first.message_id, key="e2")
    )
    over = await messenger.send(out(group.id, "Offer over", edit_message_id=first.message_id, key="e3"))
    assert edited.status is same.status is over.status is DeliveryStatus.DELIVERED
    assert edited.message_id == same.message_id == first.message_id
    [message] = tg.messages(group.id)
    assert message.text == "Offer over"
    assert message.buttons == []  # the last edit took the claim button away
    assert message.edits == 2  # the identical edit changed nothing and is still a success
    gone = await messenger.send(out(group.id, "x", edit_message_id="999", key="e4"))
    assert gone.status is DeliveryStatus.DROPPED
    assert "message to edit not found" in gone.reason


async def test_long_texts_are_split_at_paragraphs_with_buttons_on_the_last_part(
    tg: TelegramEmulator, messenger: TelegramMessenger
) -> None:
    group = tg.add_group("Python 101")
    paragraphs = [f"{formatting.bold(f'Part {i}')} " + "word " * 390 for i in range(5)]  # ~1960 characters
    buy = (Button("Buy", url="https://shop.example"),)
    delivery = await messenger.send(out(group.id, "\n\n".join(paragraphs), buttons=buy, private=False))
    assert delivery.status is DeliveryStatus.DELIVERED
    messages = tg.messages(group.id)
    assert len(messages) == 3
    assert all(len(m.text) <= 4096 for m in messages)
    assert [m.text.count("Part ") for m in messages] == [2, 2, 1]  # whole paragraphs only
    assert all(m.text.startswith("Part ") for m in messages)
    assert [bool(m.buttons) for m in messages] == [False, False, True]
    assert delivery.message_id == str(messages[-1].message_id)
    assert tg.stats.too_many_requests == 0


async def test_an_edit_that_does_not_fit_one_message_is_dropped(
    tg: TelegramEmulator, messenger: TelegramMessenger
) -> None:
    group = tg.add_group("Python 101")
    first = await messenger.send(out(group.id, "short", private=False))
    delivery = await messenger.send(out(group.id, "y" * 5000, edit_message_id=first.message_id, key="e"))
    assert delivery.status is DeliveryStatus.DROPPED
    assert "must fit in one message" in delivery.reason


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("never_started", "Forbidden: bot can't initiate conversation with a user"),
        ("blocked", "Forbidden: bot was blocked by the user"),
        ("kicked", "Forbidden: bot was kicked from the supergroup chat"),
    ],
)
async def test_403_means_unreachable_and_is_not_retried(
    tg: TelegramEmulator, messenger: TelegramMessenger, setup: str, reason: str
) -> None:
    user = tg.add_user("Learner", started=setup != "never_started")
    chat_id = user.id
    if setup == "blocked":
        tg.block(user)
    if setup == "kicked":
        group = tg.add_group("Python 101")
        tg.kick_bot(group)
        chat_id = group.id
    delivery = await messenger.send(out(chat_id, "Your coupon"))
    assert delivery.status is DeliveryStatus.UNREACHABLE
    assert delivery.reason == reason
    assert tg.stats.calls["sendMessage"] == 1


async def test_chat_not_found_is_dropped_and_logged_with_the_chat_id_but_never_the_token(
    tg: TelegramEmulator, bot: Bot, messenger: TelegramMessenger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    delivery = await messenger.send(out(-100123456, "hello", private=False))
    assert delivery.status is DeliveryStatus.DROPPED
    assert delivery.reason == "chat not found"
    assert any("-100123456" in r.getMessage() and "not found" in r.getMessage() for r in caplog.records)
    assert all(bot.token not in r.getMessage() for r in caplog.records)
    assert bot.token.split(":")[1] not in caplog.text


async def test_a_chat_id_that_is_not_a_number_is_dropped(messenger: TelegramMessenger) -> None:
    delivery = await messenger.send(out("@someone", "hello"))
    assert delivery.status is DeliveryStatus.DROPPED
    assert "not a Telegram chat id" in delivery.reason


async def test_a_429_pauses_the_bot_and_the_send_is_retried_once_it_ends(
    tg: TelegramEmulator, bot: Bot
) -> None:
    governor = RateGovernor(TelegramLimits())
    messenger = TelegramMessenger(bot, governor)
    ann = tg.add_user("Ann", started=True)
    tg.inject_fault(Fault.rate_limited(1), chat_id=ann.id)
    delivery = await messenger.send(out(ann.id, "Your coupon"))
    assert delivery.status is DeliveryStatus.DELIVERED
    assert [m.text for m in tg.messages(ann.id)] == ["Your coupon"]  # exactly once
    assert tg.stats.too_many_requests == 1
    assert governor.stats.pauses == 1


async def test_a_429_pauses_every_send_of_the_bot(tg: TelegramEmulator, bot: Bot) -> None:
    governor = RateGovernor(TelegramLimits())
    messenger = TelegramMessenger(bot, governor, max_wait=30)
    ann, bob = tg.add_user("Ann", started=True), tg.add_user("Bob", started=True)
    tg.inject_fault(Fault.rate_limited(120), chat_id=ann.id)
    first = await messenger.send(out(ann.id, "hi"))
    # Too long to wait inside the send: reported for a later retry, and the whole bot is paused.
    assert first.status is DeliveryStatus.RETRY
    assert first.retry_after == 120
    assert governor.paused_for > 100
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(messenger.send(out(bob.id, "hi")), timeout=0.3)
    assert tg.stats.calls["sendMessage"] == 1  # Bob's message never left while the bot was paused


async def test_a_chat_still_limited_after_the_last_attempt_reports_retry(
    tg: TelegramEmulator, bot: Bot
) -> None:
    messenger = TelegramMessenger(bot, RateGovernor(TelegramLimits()), rate_limit_attempts=2)
    group = tg.add_group("Python 101")
    tg.inject_fault(Fault.rate_limited(1), times=None, chat_id=group.id)
    delivery = await messenger.send(out(group.id, "hi", private=False))
    assert delivery.status is DeliveryStatus.RETRY
    assert delivery.retry_after == 1
    assert "rate limited" in delivery.reason
    assert tg.stats.calls["sendMessage"] == 2


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (
            Fault.server_error(500, "Internal Server Error"),
            "Telegram server error: Internal Server Error",
        ),
        (Fault.server_error(502, "Bad Gateway"), "Telegram server error: Bad Gateway"),
        (Fault.timeout(5.0), "network: Request timeout error"),
    ],
)
async def test_server_errors_and_timeouts_are_retried_later_with_the_reason(
    tg: TelegramEmulator, fault: Fault, reason: str
) -> None:
    bot = tg.bot(timeout=0.3)
    messenger = TelegramMessenger(bot, RateGovernor(TelegramLimits()))
    ann = tg.add_user("Ann", started=True)
    tg.inject_fault(fault)
    delivery = await messenger.send(out(ann.id, "hi"))
    await bot.session.close()
    assert delivery.status is DeliveryStatus.RETRY
    assert delivery.reason == reason
    assert tg.messages(ann.id) == []


async def test_a_rejected_token_is_retried_later_and_logged_without_the_token(
    tg: TelegramEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = Bot("777:wrong-token-value", session=tg.bot().session)
    messenger = TelegramMessenger(wrong, RateGovernor(TelegramLimits()))
    delivery = await messenger.send(out(tg.add_user("Ann", started=True).id, "hi"))
    await wrong.session.close()
    assert delivery.status is DeliveryStatus.RETRY
    assert "401" in delivery.reason
    assert "rejects the bot token" in caplog.text
    assert "wrong-token-value" not in caplog.text


async def test_a_split_message_interrupted_midway_sends_only_the_rest_on_retry(
    tg: TelegramEmulator, messenger: TelegramMessenger
) -> None:
    group = tg.add_group("Python 101")
    text = "\n\n".join(f"Part {i} " + "word " * 700 for i in range(3))
    tg.inject_fault(Fault.server_error(), chat_id=group.id, after=1)  # the first part goes, the second fails
    first_try = await messenger.send(out(group.id, text, key="long", private=False))
    assert first_try.status is DeliveryStatus.RETRY
    assert first_try.reason.endswith("(after 1 of 3 parts went out)")
    second_try = await messenger.send(out(group.id, text, key="long", private=False))
    assert second_try.status is DeliveryStatus.DELIVERED
    assert [m.text.split()[:2] for m in tg.messages(group.id)] == [
        ["Part", "0"],
        ["Part", "1"],
        ["Part", "2"],
    ]


async def test_polls_are_sent_non_anonymous_and_remembered_for_intake(
    tg: TelegramEmulator, bot: Bot, store: RedisStore
) -> None:
    polls = PollRegistry(store.client)
    messenger = TelegramMessenger(bot, RateGovernor(TelegramLimits()), polls=polls)
    group = tg.add_group("Python 101")
    delivery = await messenger.send_poll(
        group.id, "Tabs or spaces?", ["tabs", "spaces"], course_id="py", class_id="c3"
    )
    assert delivery.status is DeliveryStatus.DELIVERED
    [message] = tg.messages(group.id)
    poll = tg.poll(message.poll_id)
    assert not poll.is_anonymous
    ref = await polls.get(poll.id)
    assert ref is not None
    assert (ref.course_id, ref.class_id, ref.chat_id, str(ref.message_id)) == (
        "py",
        "c3",
        group.id,
        delivery.message_id,
    )


async def test_a_burst_to_many_private_chats_stays_under_the_bot_limit_with_no_429(
    make_tg: MakeEmulator,
) -> None:
    # The emulator lets a fifth of a second's worth through at once: a burst of 90 unpaced sends would
    # meet 429s (the next test shows it); the governor paces them.
    tg = await make_tg(limits=EmulatorLimits(per_bot_per_second=300, bot_burst=60))
    bot = tg.bot()
    messenger = TelegramMessenger(bot, RateGovernor(TelegramLimits(per_bot_per_second=300)))
    users = [tg.add_user(f"u{i}", started=True) for i in range(90)]
    deliveries = await asyncio.gather(*(messenger.send(out(u.id, f"Hi {u.first_name}")) for u in users))
    await bot.session.close()
    assert all(d.status is DeliveryStatus.DELIVERED for d in deliveries)
    assert tg.stats.too_many_requests == 0
    assert [len(tg.messages(u.id)) for u in users] == [1] * 90


async def test_when_telegram_is_stricter_than_the_governor_pause_and_retry_deliver_everything_once(
    make_tg: MakeEmulator,
) -> None:
    tg = await make_tg(limits=EmulatorLimits(per_bot_per_second=60))
    bot = tg.bot()
    governor = RateGovernor(TelegramLimits(per_bot_per_second=1000))
    messenger = TelegramMessenger(bot, governor)
    users = [tg.add_user(f"u{i}", started=True) for i in range(90)]
    deliveries = await asyncio.gather(*(messenger.send(out(u.id, f"Hi {u.first_name}")) for u in users))
    await bot.session.close()
    assert tg.stats.too_many_requests > 0  # the emulator did hold the bot back
    assert governor.stats.pauses >= 1
    assert all(d.status is DeliveryStatus.DELIVERED for d in deliveries)
    assert [len(tg.messages(u.id)) for u in users] == [1] * 90  # every message exactly once


async def test_after_a_429_pause_the_bot_resumes_at_its_pace_not_in_a_burst(make_tg: MakeEmulator) -> None:
    # An emulator with almost no burst allowance: a send released early after the pause meets a 429.
    tg = await make_tg(limits=EmulatorLimits(per_bot_per_second=40, bot_burst=3))
    bot = tg.bot()
    governor = RateGovernor(TelegramLimits(per_bot_per_second=40))
    messenger = TelegramMessenger(bot, governor)
    users = [tg.add_user(f"u{i}", started=True) for i in range(80)]
    tg.inject_fault(Fault.rate_limited(1), after=20)  # Telegram asks for a second's rest mid-way
    deliveries = await asyncio.gather(*(messenger.send(out(u.id, f"Hi {u.first_name}")) for u in users))
    await bot.session.close()
    assert all(d.status is DeliveryStatus.DELIVERED for d in deliveries)
    assert governor.stats.pauses == 1
    assert tg.stats.limited["bot"] == 0  # sends queued during the pause did not all go at once after it
    assert [len(tg.messages(u.id)) for u in users] == [1] * 80


async def test_a_group_gets_a_burst_then_the_governor_paces_it(make_tg: MakeEmulator) -> None:
    # The governor keeps half a group's minute as headroom; this emulator allows only a little more burst
    # than that, so 310 unpaced messages would meet 429s.
    tg = await make_tg(
        limits=EmulatorLimits(per_bot_per_second=1000, per_group_per_minute=600, group_burst=304)
    )
    bot = tg.bot()
    limits = TelegramLimits(per_bot_per_second=1000, per_group_per_minute=600)
    messenger = TelegramMessenger(bot, RateGovernor(limits))
    group = tg.add_group("Python 101")
    deliveries = await asyncio.gather(
        *(messenger.send(out(group.id, f"m{i}", private=False)) for i in range(310))
    )
    await bot.session.close()
    assert all(d.status is DeliveryStatus.DELIVERED for d in deliveries)
    assert len(tg.messages(group.id)) == 310
    assert tg.stats.too_many_requests == 0


async def test_messages_to_one_private_chat_are_spaced_by_the_governor(make_tg: MakeEmulator) -> None:
    tg = await make_tg(limits=EmulatorLimits(per_private_chat_per_second=10))
    bot = tg.bot()
    messenger = TelegramMessenger(bot, RateGovernor(TelegramLimits(per_private_chat_per_second=10)))
    ann = tg.add_user("Ann", started=True)
    deliveries = await asyncio.gather(*(messenger.send(out(ann.id, f"m{i}")) for i in range(5)))
    await bot.session.close()
    assert all(d.status is DeliveryStatus.DELIVERED for d in deliveries)
    assert len(tg.messages(ann.id)) == 5
    assert tg.stats.too_many_requests == 0


async def test_make_bot_talks_to_the_configured_api_server_with_the_configured_timeout(
    tg: TelegramEmulator,
) -> None:
    config = TelegramConfig(api_server=tg.base_url, request_timeout=timedelta(seconds=3))
    bot = make_bot(tg.token, config)
    me = await bot.get_me()
    await bot.session.close()
    assert me.username == "classpulse_test_bot"
    assert bot.session.timeout == 3


async def test_buttons_that_need_the_private_chat_become_signed_deep_links(
    tg: TelegramEmulator, bot: Bot, clock: ManualClock
) -> None:
    links = DeepLinks(b"a-secret-of-enough-length", ["py"], bot_username="classpulse_test_bot")
    messenger = TelegramMessenger(
        bot, RateGovernor(), links=links, clock=clock, link_valid_for=timedelta(hours=2)
    )
    group = tg.add_group("Python 101")
    buttons = (
        Button("Join the live class", callback=callbacks.join("py", "c3")),
        Button("Claim offer", callback=callbacks.claim("py", "o2")),
        Button("Vote", callback="vote:py:1"),  # not a way into the private chat: stays a callback
    )
    await messenger.send(out(group.id, "We are live", buttons=buttons, private=False))
    [message] = tg.messages(group.id)
    join, claim, vote = message.buttons
    assert vote == {"text": "Vote", "callback_data": "vote:py:1"}
    for button, expected in ((join, callbacks.join("py", "c3")), (claim, callbacks.claim("py", "o2"))):
        prefix = "https://t.me/classpulse_test_bot?start="
        assert button["url"].startswith(prefix)
        granted = links.parse(button["url"][len(prefix) :], clock.now())
        assert isinstance(granted, StartPayload)
        assert granted.callback.encode() == expected
        assert granted.expires_at == clock.now() + timedelta(hours=2)


async def test_a_pinned_message_is_pinned_quietly_where_the_bot_may_and_delivered_anyway_where_not(
    tg: TelegramEmulator, messenger: TelegramMessenger
) -> None:
    admin_of = tg.add_group("Python 101")
    member_of = tg.add_group("Another group", bot_status="member")
    pinned = await messenger.send(out(admin_of.id, "Live now", private=False, pin=True))
    unpinned = await messenger.send(out(member_of.id, "Live now", private=False, pin=True))
    assert (pinned.status, unpinned.status) == (DeliveryStatus.DELIVERED, DeliveryStatus.DELIVERED)
    assert [m.pinned for m in tg.messages(admin_of.id)] == [True]
    assert [m.pinned for m in tg.messages(member_of.id)] == [False]
