"""The Bot API emulator behaves like Telegram where ClassPulse depends on it (driven by aiogram's Bot)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from aiohttp import web

from tests.emulators.local_session import LocalSession
from tests.emulators.telegram_api import EmulatorLimits, Fault, MakeEmulator, TelegramEmulator
from tests.emulators.telegram_server import EmulatorProcess

HTML = "HTML"


def keyboard(**buttons: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=data)] for label, data in buttons.items()
        ]
    )


async def test_get_me_describes_the_bot_and_its_privacy_mode(make_tg: MakeEmulator) -> None:
    tg = await make_tg(privacy_mode=True)
    bot = tg.bot()
    me = await bot.get_me()
    await bot.session.close()
    assert me.is_bot
    assert me.username == "classpulse_test_bot"
    assert me.id == bot.id
    assert me.can_read_all_group_messages is False


async def test_a_wrong_token_is_unauthorized(tg: TelegramEmulator) -> None:
    stranger = Bot("42:not-the-emulated-token", session=tg.bot().session)
    with pytest.raises(TelegramUnauthorizedError):
        await stranger.get_me()
    await stranger.session.close()


async def test_sent_html_is_parsed_into_text_and_entities_and_recorded(
    tg: TelegramEmulator, bot: Bot
) -> None:
    ann = tg.add_user("Ann", started=True)
    sent = await bot.send_message(
        ann.id, '<b>Live</b> now &amp; <a href="https://x.example/c?a=1&amp;b=2">join</a>', parse_mode=HTML
    )
    assert sent.text == "Live now & join"
    assert [(e.type, e.offset, e.length) for e in sent.entities or []] == [
        ("bold", 0, 4),
        ("text_link", 11, 4),
    ]
    assert sent.entities is not None
    assert sent.entities[1].url == "https://x.example/c?a=1&b=2"
    [record] = tg.messages(ann.id)
    assert record.parse_mode == HTML
    assert record.raw.startswith("<b>Live</b>")
    assert record.message_id == sent.message_id


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<b>Bob & Co", 'Can\'t find end tag corresponding to start tag "b"'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<script>x</script>", 'Unsupported start tag "script" at byte offset 0'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
    ],
)
async def test_malformed_html_is_refused_like_telegram(
    tg: TelegramEmulator, bot: Bot, html: str, error: str
) -> None:
    ann = tg.add_user("Ann", started=True)
    with pytest.raises(TelegramBadRequest, match="can't parse entities") as refused:
        await bot.send_message(ann.id, html, parse_mode=HTML)
    assert error in refused.value.message
    assert tg.messages(ann.id) == []


async def test_texts_are_limited_to_4096_characters_after_entity_parsing(
    tg: TelegramEmulator, bot: Bot
) -> None:
    ann = tg.add_user("Ann", started=True)
    await bot.send_message(ann.id, "<b>" + "&amp;" * 4096 + "</b>", parse_mode=HTML)  # 4096 visible
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(ann.id, "x" * 4097)
    assert len(tg.messages(ann.id)) == 1


async def test_private_chats_need_a_start_and_no_block(tg: TelegramEmulator, bot: Bot) -> None:
    never = tg.add_user("Never")
    blocker = tg.add_user("Blocker", started=True)
    tg.block(blocker)
    with pytest.raises(TelegramForbiddenError, match="bot can't initiate conversation with a user"):
        await bot.send_message(never.id, "hi")
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(blocker.id, "hi")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(99, "hi")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(-100999, "hi")
    await tg.start_bot(never)  # /start opens the private chat
    await bot.send_message(never.id, "welcome")
    assert [m.text for m in tg.messages(never.id)] == ["welcome"]


async def test_a_bot_kicked_from_a_group_is_forbidden_there(tg: TelegramEmulator, bot: Bot) -> None:
    group = tg.add_group("Python 101")
    tg.kick_bot(group)
    with pytest.raises(TelegramForbiddenError, match="bot was kicked from the supergroup chat"):
        await bot.send_message(group.id, "hi")


async def test_one_message_a_second_into_a_private_chat(tg: TelegramEmulator, bot: Bot) -> None:
    ann = tg.add_user("Ann", started=True)
    await bot.send_message(ann.id, "one")
    with pytest.raises(TelegramRetryAfter) as limited:
        await bot.send_message(ann.id, "two")
    assert limited.value.retry_after == 1
    assert tg.stats.too_many_requests == 1
    assert tg.stats.limited["private"] == 1
    assert [m.text for m in tg.messages(ann.id)] == ["one"]


async def test_a_group_takes_its_per_minute_burst_and_then_a_429(make_tg: MakeEmulator) -> None:
    tg = await make_tg(limits=EmulatorLimits(per_group_per_minute=20), clock=lambda: 0.0)
    bot = tg.bot()
    group = tg.add_group("Python 101")
    for i in range(20):
        await bot.send_message(group.id, f"m{i}")
    with pytest.raises(TelegramRetryAfter) as limited:
        await bot.send_message(group.id, "one too many")
    await bot.session.close()
    assert limited.value.retry_after == 3  # 20 a minute: the next slot is three seconds away
    assert tg.stats.limited["group"] == 1
    assert len(tg.messages(group.id)) == 20


async def test_the_bot_wide_limit_answers_429_with_retry_after(make_tg: MakeEmulator) -> None:
    tg = await make_tg(limits=EmulatorLimits(per_bot_per_second=30, jitter=0), clock=lambda: 0.0)
    bot = tg.bot()
    users = [tg.add_user(f"u{i}", started=True) for i in range(31)]
    results = await asyncio.gather(*(bot.send_message(u.id, "hi") for u in users), return_exceptions=True)
    await bot.session.close()
    limited = [r for r in results if isinstance(r, TelegramRetryAfter)]
    assert len(limited) == 1
    assert limited[0].retry_after == 1
    assert tg.stats.too_many_requests == 1
    assert tg.stats.limited["bot"] == 1
    assert len(tg.sent) == 30


async def test_injected_faults_hit_the_next_calls_or_one_chat(tg: TelegramEmulator, bot: Bot) -> None:
    ann, bob = tg.add_user("Ann", started=True), tg.add_user("Bob", started=True)
    tg.inject_fault(Fault.rate_limited(7), times=2)
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as limited:
            await bot.send_message(ann.id, "hi")
        assert limited.value.retry_after == 7
    tg.inject_fault(Fault.server_error(502, "Bad Gateway"), times=None, chat_id=bob.id)
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_message(bob.id, "hi")
    await bot.send_message(ann.id, "through")
    tg.inject_fault(Fault.forbidden("Forbidden: user is deactivated"), method="sendMessage")
    with pytest.raises(TelegramForbiddenError, match="deactivated"):
        await bot.send_message(ann.id, "hi")
    assert tg.stats.too_many_requests == 2
    assert tg.stats.faults == 4
    assert [m.text for m in tg.messages(ann.id)] == ["through"]
    assert tg.messages(bob.id) == []


async def test_a_hanging_call_times_out_in_the_client(tg: TelegramEmulator) -> None:
    ann = tg.add_user("Ann", started=True)
    bot = tg.bot(timeout=0.2)
    tg.inject_fault(Fault.timeout(5.0))
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await bot.send_message(ann.id, "hi")
    await bot.session.close()
    assert tg.messages(ann.id) == []


async def test_get_updates_confirms_by_offset(tg: TelegramEmulator, bot: Bot) -> None:
    ann = tg.add_user("Ann")
    group = tg.add_group("Python 101", members=[ann])
    first = await tg.send_text(group, ann, "hello")
    second = await tg.send_text(group, ann, "anyone?")
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [first["update_id"], second["update_id"]]
    assert updates[1].message is not None
    assert updates[1].message.text == "anyone?"
    again = await bot.get_updates(offset=second["update_id"])
    assert [u.update_id for u in again] == [second["update_id"]]
    assert await bot.get_updates(offset=second["update_id"] + 1) == []
    assert tg.pending_updates == []


async def test_long_polling_returns_as_soon_as_an_update_arrives(tg: TelegramEmulator, bot: Bot) -> None:
    ann = tg.add_user("Ann")
    group = tg.add_group("Python 101", members=[ann])
    poll = asyncio.ensure_future(bot.get_updates(timeout=30, request_timeout=40))
    await asyncio.sleep(0.05)
    assert not poll.done()
    await tg.send_text(group, ann, "here")
    updates = await asyncio.wait_for(poll, timeout=5)  # well before the 30 s the poll would wait
    assert [u.message.text for u in updates if u.message] == ["here"]


async def test_a_second_poller_ends_the_first_with_a_conflict(tg: TelegramEmulator, bot: Bot) -> None:
    first = asyncio.ensure_future(bot.get_updates(timeout=30, request_timeout=40))
    await asyncio.sleep(0.05)
    second = asyncio.ensure_future(bot.get_updates(timeout=0))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, timeout=5)
    assert await second == []


async def test_reactions_and_member_updates_come_only_when_asked_for(tg: TelegramEmulator, bot: Bot) -> None:
    ann = tg.add_user("Ann")
    group = tg.add_group("Python 101")
    await tg.join(group, ann, service_message=False)
    await tg.react(group, ann, 1)
    assert await bot.get_updates() == []  # Telegram's default leaves both out, and forgets them
    await tg.join(group, tg.add_user("Bob"), service_message=False)
    await tg.react(group, ann, 1)
    updates = await bot.get_updates(allowed_updates=["chat_member", "message_reaction"])
    assert [u.event_type for u in updates] == ["chat_member", "message_reaction"]


async def test_get_updates_is_refused_while_a_webhook_is_set(tg: TelegramEmulator, bot: Bot) -> None:
    await bot.set_webhook("https://bot.example.com/tg")
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert await bot.get_updates() == []


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[str | None, dict[str, object]]], list[int]]]:
    """A tiny HTTP server standing in for the bot's webhook: records what it gets, answers a given status."""
    received: list[tuple[str | None, dict[str, object]]] = []
    statuses: list[int] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(status=statuses.pop(0) if statuses else 200)

    app = web.Application()
    app.router.add_post("/tg", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/tg", received, statuses
    await runner.cleanup()


async def test_webhook_updates_are_posted_with_the_secret_token_and_retried_until_accepted(
    tg: TelegramEmulator,
    bot: Bot,
    receiver: tuple[str, list[tuple[str | None, dict[str, object]]], list[int]],
) -> None:
    url, received, statuses = receiver
    await bot.set_webhook(url, secret_token="s3cret_token-1", allowed_updates=["message", "poll_answer"])
    ann = tg.add_user("Ann")
    group = tg.add_group("Python 101", members=[ann])
    statuses.append(500)
    update = await tg.send_text(group, ann, "hello")
    info = await bot.get_webhook_info()
    assert info.url == url
    assert info.pending_update_count == 1
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    deliveries = await tg.deliver_pending_webhook()
    assert [d.status for d in deliveries] == [200]
    assert [secret for secret, _ in received] == ["s3cret_token-1", "s3cret_token-1"]
    assert received[0][1] == update == received[1][1]
    assert (await bot.get_webhook_info()).pending_update_count == 0
    await tg.react(group, ann, 1)  # not among the allowed updates: never posted
    assert len(received) == 2


async def test_a_webhook_secret_must_use_telegrams_alphabet(tg: TelegramEmulator, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="secret token contains unallowed characters"):
        await bot.set_webhook("https://bot.example.com/tg", secret_token="no spaces!")


async def test_answers_to_non_anonymous_polls_reach_the_bot(tg: TelegramEmulator, bot: Bot) -> None:
    ann = tg.add_user("Ann")
    group = tg.add_group("Python 101", members=[ann])
    sent = await bot.send_poll(group.id, "Tabs or spaces?", ["tabs", "spaces"], is_anonymous=False)
    assert sent.poll is not None
    assert not sent.poll.is_anonymous
    await tg.answer_poll(ann, sent.poll.id, [1])
    anonymous = await bot.send_poll(group.id, "Coffee?", ["yes", "no"])
    assert anonymous.poll is not None
    assert anonymous.poll.is_anonymous
    await tg.answer_poll(ann, anonymous.poll.id, [0])
    updates = await bot.get_updates()
    assert updates[0].poll_answer is not None
    assert updates[0].poll_answer.option_ids == [1]
    assert updates[0].poll_answer.user is not None
    assert updates[0].poll_answer.user.id == ann.id
    assert updates[1].poll is not None
    assert updates[1].poll.total_voter_count == 1
    stopped = await bot.stop_poll(group.id, sent.message_id)
    assert stopped.is_closed
    with pytest.raises(ValueError, match="closed"):
        await tg.answer_poll(ann, sent.poll.id, [0])


async def test_edits_are_recorded_and_an_identical_edit_is_not_modified(
    tg: TelegramEmulator, bot: Bot
) -> None:
    group = tg.add_group("Python 101")
    sent = await bot.send_message(
        group.id, "Offer ends in <b>10</b> min", parse_mode=HTML, reply_markup=keyboard(Claim="o:py:c1")
    )
    await bot.edit_message_text(
        "Offer ends in <b>9</b> min",
        chat_id=group.id,
        message_id=sent.message_id,
        parse_mode=HTML,
        reply_markup=keyboard(Claim="o:py:c1"),
    )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "Offer ends in <b>9</b> min",
            chat_id=group.id,
            message_id=sent.message_id,
            parse_mode=HTML,
            reply_markup=keyboard(Claim="o:py:c1"),
        )
    await bot.edit_message_reply_markup(chat_id=group.id, message_id=sent.message_id, reply_markup=None)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=group.id, message_id=999)
    record = tg.message(group.id, sent.message_id)
    assert record.text == "Offer ends in 9 min"
    assert record.edits == 2
    assert record.buttons == []


async def test_callback_queries_are_answered_once(tg: TelegramEmulator, bot: Bot) -> None:
    ann = tg.add_user("Ann")
    group = tg.add_group("Python 101", members=[ann])
    sent = await bot.send_message(group.id, "Claim it", reply_markup=keyboard(Claim="o:py:c1:flash"))
    update = Update.model_validate(
        await tg.press_button(ann, tg.message(group.id, sent.message_id), "o:py:c1:flash")
    )
    assert update.callback_query is not None
    assert update.callback_query.data == "o:py:c1:flash"
    assert await bot.answer_callback_query(update.callback_query.id, text="Sent you the code")
    assert tg.callback_answers[update.callback_query.id] == {"text": "Sent you the code"}
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(update.callback_query.id)
    with pytest.raises(ValueError, match="no button"):
        await tg.press_button(ann, tg.message(group.id, sent.message_id), "forged")


async def test_buttons_are_validated(tg: TelegramEmulator, bot: Bot) -> None:
    group = tg.add_group("Python 101")
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(group.id, "x", reply_markup=keyboard(Big="x" * 65))
    with pytest.raises(TelegramBadRequest, match="Wrong HTTP URL"):
        await bot.send_message(
            group.id,
            "x",
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text="go", url="ftp://x")]]
            ),
        )


async def test_members_and_administrators(tg: TelegramEmulator, bot: Bot) -> None:
    owner, admin, ann = tg.add_user("Owner"), tg.add_user("Admin"), tg.add_user("Ann")
    group = tg.add_group("Python 101", members=[ann], admins=[admin], owner=owner)
    assert (await bot.get_chat_member(group.id, ann.id)).status == "member"
    assert (await bot.get_chat_member(group.id, admin.id)).status == "administrator"
    assert (await bot.get_chat_member(group.id, tg.add_user("Nobody").id)).status == "left"
    admins = await bot.get_chat_administrators(group.id)
    assert {a.user.id for a in admins} == {owner.id, admin.id, bot.id}
    await tg.leave(group, ann)
    assert (await bot.get_chat_member(group.id, ann.id)).status == "left"
    with pytest.raises(TelegramBadRequest, match="no administrators in the private chat"):
        await bot.get_chat_administrators(tg.add_user("Private", started=True).id)


async def test_pins_need_admin_rights_and_are_recorded(tg: TelegramEmulator, bot: Bot) -> None:
    group = tg.add_group("Python 101")
    sent = await bot.send_message(group.id, "We are live")
    await bot.pin_chat_message(group.id, sent.message_id)
    assert tg.message(group.id, sent.message_id).pinned
    await bot.unpin_chat_message(group.id, message_id=sent.message_id)
    assert not tg.message(group.id, sent.message_id).pinned
    await bot.delete_message(group.id, sent.message_id)
    assert tg.messages(group.id) == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(group.id, sent.message_id)
    member_only = tg.add_group("Other", bot_status="member")
    other = await bot.send_message(member_only.id, "hi")
    with pytest.raises(TelegramBadRequest, match="not enough rights"):
        await bot.pin_chat_message(member_only.id, other.message_id)


async def test_commands_are_stored_per_scope(tg: TelegramEmulator, bot: Bot) -> None:
    await bot.set_my_commands(
        [BotCommand(command="start", description="Start"), BotCommand(command="stop", description="Stop")]
    )
    assert [c.command for c in await bot.get_my_commands()] == ["start", "stop"]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])


async def test_injected_updates_parse_into_aiogram_types(tg: TelegramEmulator) -> None:
    ann, bob = tg.add_user("Ann", username="ann"), tg.add_user("Bob")
    group = tg.add_group("Python 101", members=[ann])
    first = Update.model_validate(await tg.send_text(group, ann, "/ask what is a tuple"))
    assert first.message is not None
    assert first.message.entities is not None
    assert first.message.entities[0].type == "bot_command"
    reply = Update.model_validate(await tg.send_text(group, bob, "me too", reply_to=first.message.message_id))
    assert reply.message is not None
    assert reply.message.reply_to_message is not None
    reaction = Update.model_validate(await tg.react(group, bob, first.message.message_id, ["🔥"], old=["👍"]))
    assert reaction.message_reaction is not None
    assert reaction.message_reaction.user is not None
    joined = [Update.model_validate(u) for u in await tg.join(group, bob)]
    assert joined[0].chat_member is not None
    assert joined[0].chat_member.new_chat_member.status == "member"
    assert joined[1].message is not None
    assert joined[1].message.new_chat_members is not None
    left = [Update.model_validate(u) for u in await tg.leave(group, bob)]
    assert left[1].message is not None
    assert left[1].message.left_chat_member is not None
    started = Update.model_validate(await tg.start_bot(bob, "Jc1Eabc"))
    assert started.message is not None
    assert started.message.text == "/start Jc1Eabc"
    assert started.message.chat.type == "private"
    assert bob.started


async def test_the_emulator_runs_in_a_process_of_its_own_for_benchmarks() -> None:
    async with EmulatorProcess(per_bot=100) as server:
        ids = await server.add_users(3)
        bot = Bot(server.token, session=LocalSession(server.base_url))
        await server.inject_fault(429, retry_after=2, chat_id=ids[0])
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(ids[0], "hi")
        for chat_id in ids:
            await bot.send_message(chat_id, "<b>hi</b>", parse_mode=HTML)
        await bot.session.close()
        stats = await server.stats()
    assert (stats["sent"], stats["chats"], stats["most_in_one_chat"]) == (3, 3, 1)
    assert stats["too_many_requests"] == 1
