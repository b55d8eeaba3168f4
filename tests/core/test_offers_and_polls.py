"""Flash offers and polls: teacher commands during a live class, claims by learners."""

from __future__ import annotations

from datetime import timedelta

from bot import formatting
from bot.app import App
from bot.clock import ManualClock
from bot.domain import Identity, Platform
from bot.domain.callbacks import Action, Callback
from bot.usecases.offers import flash_offer_text
from bot.usecases.replies import Actor, answer
from tests.core.conftest import TEACHER

teacher = Actor(TEACHER)
ada = Identity(Platform.TELEGRAM, "7")


async def go_live(app: App) -> None:
    assert (await app.teacher.live(teacher, "python101", "https://youtube.com/live/x Decorators")).ok


async def test_offers_and_polls_need_a_live_class(app: App) -> None:
    reply = await answer(app.teacher.offer(teacher, "python101", "hot-48h 10"))
    assert (reply.ok, reply.text) == (
        False,
        "Flash offers run during a live class; start one with /live first.",
    )
    reply = await answer(app.teacher.poll(teacher, "python101", "Next? | A | B"))
    assert (reply.ok, reply.text) == (False, "Polls run during a live class; start one with /live first.")


async def test_a_flash_offer_counts_down_and_ends(app: App, clock: ManualClock) -> None:
    await go_live(app)
    reply = await answer(app.teacher.offer(teacher, "python101", "hot-48h 10"))
    assert reply.offer is not None
    assert formatting.plain(reply.text) == (
        "⚡ Flash offer: 20% off Python 101 — 10 min left. Press the button to get your personal code."
    )
    [button] = reply.buttons
    assert Callback.parse(button.callback) == Callback(Action.CLAIM, "python101", reply.offer.id)
    clock.advance(timedelta(minutes=9, seconds=30))
    assert "30 s left" in flash_offer_text(reply.offer, app.config, clock.now())
    clock.advance(timedelta(seconds=30))
    assert flash_offer_text(reply.offer, app.config, clock.now()).startswith("⚡ The flash offer")


async def test_claiming_gives_one_personal_code_privately_and_counts_an_offer_click(
    app: App, clock: ManualClock
) -> None:
    await go_live(app)
    offer = (await app.teacher.offer(teacher, "python101", "hot-48h 10")).offer
    assert offer is not None
    first = await app.learner.claim_offer(ada, "press-1", "python101", offer.id, name="Ada")
    again = await app.learner.claim_offer(ada, "press-2", "python101", offer.id)
    assert first.private
    assert first.text == again.text  # the same code, not a second one
    [coupon] = await app.store.coupons.for_learner("tg-7")
    assert coupon.code in first.text
    counters = await app.store.client.hgetall(
        app.store.keys.learner_class("python101", offer.class_id, "tg-7")
    )
    assert counters["offer_click"] == "2"


async def test_a_learner_who_bought_gets_thanks_not_a_code(app: App) -> None:
    await go_live(app)
    offer = (await app.teacher.offer(teacher, "python101", "hot-48h 10")).offer
    assert offer is not None
    await app.learner.claim_offer(ada, "press-0", "python101", offer.id, name="Ada")  # knows her id now
    await app.store.activity.mark_buyer("python101", "tg-7")

    reply = await app.learner.claim_offer(ada, "press-1", "python101", offer.id)

    assert formatting.plain(reply.text) == "You already own Python 101: thank you!"
    assert len(await app.store.coupons.for_learner("tg-7")) == 1  # only the one from before she bought


async def test_a_claim_after_the_end_is_refused(app: App, clock: ManualClock) -> None:
    await go_live(app)
    offer = (await app.teacher.offer(teacher, "python101", "warm-7d 5")).offer
    assert offer is not None
    clock.advance(timedelta(minutes=5))
    reply = await app.learner.claim_offer(ada, "press-1", "python101", offer.id)
    assert (reply.ok, reply.text) == (False, "Sorry, this flash offer has ended.")
    assert await app.store.coupons.for_learner("tg-7") == []


async def test_an_unknown_pool_gets_usage_help_listing_the_pools(app: App) -> None:
    await go_live(app)
    reply = await answer(app.teacher.offer(teacher, "python101", "black-friday"))
    assert reply.text.splitlines()[:2] == [
        "There is no coupon pool 'black-friday'; known: flash, hot-48h, warm-15pct, warm-7d.",
        "Usage: /offer <coupon pool> [minutes]",
    ]


async def test_a_poll_asks_the_adapter_to_post_it_for_the_live_class(app: App) -> None:
    await go_live(app)
    reply = await answer(app.teacher.poll(teacher, "python101", "Which topic next? | Generators | Async"))
    assert reply.poll is not None
    assert (reply.poll.question, reply.poll.options, reply.poll.class_id) == (
        "Which topic next?",
        ("Generators", "Async"),
        "c1",
    )
    bad = await answer(app.teacher.poll(teacher, "python101", "Only a question"))
    assert bad.text.startswith("A poll needs a question and at least two options, separated by |.")


async def test_a_poll_longer_than_telegram_allows_gets_usage_help_not_a_silent_failure(app: App) -> None:
    await go_live(app)
    long_question = await answer(app.teacher.poll(teacher, "python101", "Why" + "?" * 300 + " | A | B"))
    long_option = await answer(app.teacher.poll(teacher, "python101", "Which? | " + "x" * 101 + " | B"))

    assert long_question.poll is None
    assert long_option.poll is None
    assert long_question.text.startswith("The question is 303 characters; at most 300.")
    assert long_option.text.startswith(f"Options have at most 100 characters; {'x' * 20!r}… is longer.")
    assert long_option.text.splitlines()[1].startswith("Usage: /poll")


def test_callbacks_round_trip_and_foreign_data_is_ignored() -> None:
    assert Callback.parse(Callback(Action.JOIN, "python101", "c3").encode()) == Callback(
        Action.JOIN, "python101", "c3"
    )
    assert Callback.parse("something-else") is None
    assert Callback.parse("launch:python101:c1") is None
