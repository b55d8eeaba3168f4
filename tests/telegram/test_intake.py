"""From Telegram into intake: update_id dedup, the context from the stores, and the whole path end to end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from adapters.redis import RedisStore
from adapters.telegram.context import ContextResolver
from adapters.telegram.intake import INTAKE_UPDATES, IntakeMiddleware, TelegramIntake
from adapters.telegram.polls import PollRef, PollRegistry
from adapters.telegram.updates import DedupUpdates, SeenUpdates
from bot.clock import ManualClock
from bot.config import Config, parse_config
from bot.domain import ClassSession, ClassState, FlashOffer, InteractionKind, LearnerActivity, callbacks
from tests.emulators.telegram_api import TelegramEmulator, TgChat, TgUser

K = InteractionKind
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


async def eventually(check: Callable[[], Any], what: str) -> None:
    """Wait for the bot to catch up with what the emulator delivered (a safety bound, not a timing check)."""
    for _ in range(500):
        if await check() if asyncio.iscoroutinefunction(check) else check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def test_an_update_id_is_taken_on_once_per_bot(store: RedisStore) -> None:
    seen = SeenUpdates(store.client)
    assert await seen.first_sight(1, 500)
    assert not await seen.first_sight(1, 500)
    assert await seen.first_sight(2, 500)  # another bot numbers its own updates
    assert 0 < await store.client.ttl("cp:tg:update:1:500") <= 25 * 3600


async def test_the_dedup_middleware_lets_a_redelivered_update_through_once(
    tg: TelegramEmulator, bot: Bot, store: RedisStore
) -> None:
    dispatcher = Dispatcher()
    dispatcher.update.outer_middleware(DedupUpdates(SeenUpdates(store.client)))
    handled: list[int] = []
    failures = [RuntimeError("redis went away")]

    @dispatcher.message()
    async def on_message(message: Any) -> None:
        if failures:
            raise failures.pop()
        handled.append(message.message_id)

    ann = tg.add_user("Ann")
    group = tg.add_group("Python 101", members=[ann])
    update = Update.model_validate(await tg.send_text(group, ann, "hello"))
    with pytest.raises(RuntimeError):
        await dispatcher.feed_update(bot, update)  # fails: the mark is released for the redelivery
    await dispatcher.feed_update(bot, update)
    await dispatcher.feed_update(bot, update)
    assert handled == [update.message.message_id if update.message else -1]


class Course:
    """A course whose Telegram group is emulated, with a live class in the real store."""

    def __init__(self, tg: TelegramEmulator, store: RedisStore) -> None:
        self.tg = tg
        self.store = store
        self.teacher = tg.add_user("Tess")
        self.ann = tg.add_user("Ann", language_code="de")
        self.bob = tg.add_user("Bob")
        self.group: TgChat = tg.add_group("Python 101", members=[self.ann, self.bob], admins=[self.teacher])
        self.config: Config = parse_config(
            {
                "courses": {
                    "py": {
                        "name": "Python 101",
                        "price": 199.0,
                        "currency": "USD",
                        "telegram_chats": [self.group.id],
                        "teachers": {"telegram": [self.teacher.id]},
                    }
                }
            }
        )
        self.session = ClassSession("c1", "py", "Closures", ClassState.LIVE, started_at=NOW)
        self.polls = PollRegistry(store.client)
        resolver = ContextResolver(self.config, store.learners, store.classes, self.polls, store.offers)
        self.intake = TelegramIntake(
            resolver,
            store.intake,
            ManualClock(NOW),
            bot_id=tg.bot_user.id,
            bot_username="classpulse_test_bot",
        )

    async def start(self) -> None:
        await self.store.classes.save(self.session)

    async def activity(self) -> dict[str, LearnerActivity]:
        return {a.learner_id: a for a in await self.store.activity.for_class(self.session)}

    def dispatcher(self) -> Dispatcher:
        dispatcher = Dispatcher()
        dispatcher.update.outer_middleware(DedupUpdates(SeenUpdates(self.store.client)))
        dispatcher.update.outer_middleware(IntakeMiddleware(self.intake))
        return dispatcher

    @staticmethod
    def learner(user: TgUser) -> str:
        return f"tg-{user.id}"


@pytest.fixture
async def course(tg: TelegramEmulator, store: RedisStore) -> Course:
    course = Course(tg, store)
    await course.start()
    return course


async def test_the_context_resolves_learners_live_class_and_polls_from_the_stores(
    course: Course, store: RedisStore
) -> None:
    tg = course.tg
    poll = tg.bot_poll(course.group, "Tabs or spaces?", ["tabs", "spaces"])
    await course.polls.remember(PollRef(poll.id, "py", "c0", course.group.id, poll.message_id))
    question = Update.model_validate(await tg.send_text(course.group, course.ann, "why?"))
    teacher = Update.model_validate(await tg.send_text(course.group, course.teacher, "because"))
    vote = Update.model_validate(await tg.answer_poll(course.bob, poll.id, [0]))
    assert (await course.intake.record(question)).accepted == 1
    assert (await course.intake.record(teacher)).accepted == 0  # teaching is not a learner's engagement
    assert (await course.intake.record(vote)).accepted == 1
    ann = await store.learners.get(course.learner(course.ann))
    assert ann is not None
    assert (ann.name, ann.language) == ("Ann", "de")
    counts = await course.activity()
    assert counts[course.learner(course.ann)].count(K.QUESTION) == 1
    assert course.learner(course.teacher) not in counts
    # The vote counts for the class the poll was sent in (c0), not for the live class.
    assert counts[course.learner(course.bob)].count(K.POLL_ANSWER) == 0


async def test_a_claim_press_counts_for_the_offers_class_and_only_for_a_real_offer(
    course: Course, store: RedisStore
) -> None:
    offer = FlashOffer("o1", "py", "c1", "hot-48h", NOW, NOW + timedelta(minutes=10))
    await store.offers.save(offer)
    rows = [[{"text": "Claim", "callback_data": callbacks.claim("py", "o1")}]]
    rows.append([{"text": "Claim", "callback_data": callbacks.claim("py", "o9")}])
    message = course.tg.bot_message(course.group, "Flash offer", {"inline_keyboard": rows})
    real = Update.model_validate(
        await course.tg.press_button(course.ann, message, callbacks.claim("py", "o1"))
    )
    made_up = Update.model_validate(
        await course.tg.press_button(course.ann, message, callbacks.claim("py", "o9"))
    )
    assert (await course.intake.record(real)).accepted == 1
    assert (await course.intake.record(made_up)).accepted == 0
    assert (await course.activity())[course.learner(course.ann)].count(K.OFFER_CLICK) == 1


async def test_people_seen_only_outside_course_chats_are_not_made_learners(
    course: Course, store: RedisStore
) -> None:
    stranger = course.tg.add_user("Stranger")
    elsewhere = course.tg.add_group("Another community", members=[stranger])
    update = Update.model_validate(await course.tg.send_text(elsewhere, stranger, "hi?"))
    assert (await course.intake.record(update)).accepted == 0
    assert await store.learners.get(course.learner(stranger)) is None


async def test_long_polling_feeds_intake_and_redelivered_updates_count_once(course: Course, bot: Bot) -> None:
    tg = course.tg
    poll = tg.bot_poll(course.group, "Tabs or spaces?", ["tabs", "spaces"])
    await course.polls.remember(PollRef(poll.id, "py", "c1", course.group.id, poll.message_id))
    hello = await tg.send_text(course.group, course.ann, "hello all")
    await tg.send_text(course.group, course.ann, "is this recorded?")
    await tg.react(course.group, course.bob, hello["message"]["message_id"], ["🔥"])
    await tg.answer_poll(course.bob, poll.id, [1])
    await tg.redeliver(hello)  # Telegram delivers at least once
    await tg.join(course.group, tg.add_user("Cleo"))  # a chat_member update and a service message
    assert [u["update_id"] for u in tg.pending_updates].count(hello["update_id"]) == 2
    dispatcher = course.dispatcher()
    polling = asyncio.ensure_future(
        dispatcher.start_polling(
            bot,
            polling_timeout=1,
            handle_signals=False,
            close_bot_session=False,
            allowed_updates=list(INTAKE_UPDATES),
        )
    )

    async def all_recorded() -> bool:
        counts = await course.activity()
        return len(counts) == 3 and not tg.pending_updates

    await eventually(all_recorded, "every update recorded")
    await dispatcher.stop_polling()
    await polling
    counts = await course.activity()
    ann, bob = counts[course.learner(course.ann)], counts[course.learner(course.bob)]
    assert (ann.count(K.MESSAGE), ann.count(K.QUESTION)) == (1, 1)  # "hello all" once, despite redelivery
    assert (bob.count(K.REACTION), bob.count(K.POLL_ANSWER)) == (1, 1)
    cleo = next(a for a in counts.values() if a.learner_id not in (ann.learner_id, bob.learner_id))
    assert cleo.count(K.JOIN) == 1  # reported twice by Telegram, counted once


@pytest.fixture
async def webhook_bot(course: Course, bot: Bot) -> AsyncIterator[str]:
    """aiogram's own webhook handler, with the dedup and intake middlewares, on a local port."""
    app = web.Application()
    SimpleRequestHandler(course.dispatcher(), bot, secret_token="hook-secret").register(app, path="/tg")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/tg"
    await runner.cleanup()


async def test_a_webhook_redelivery_is_recorded_once(course: Course, bot: Bot, webhook_bot: str) -> None:
    tg = course.tg
    await bot.set_webhook(webhook_bot, secret_token="hook-secret", allowed_updates=list(INTAKE_UPDATES))
    question = await tg.send_text(course.group, course.ann, "/ask what is a closure")
    await tg.redeliver(question)
    assert [d.status for d in tg.webhook_deliveries] == [200, 200]
    counts = await course.activity()
    assert counts[course.learner(course.ann)].count(K.QUESTION) == 1
