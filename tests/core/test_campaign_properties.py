"""Random campaigns and learners: no promotion to the opted-out or to buyers, nothing sent twice."""

from __future__ import annotations

import itertools
import tomllib
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.console import RecordingMessenger
from bot.app import build_app
from bot.clock import ManualClock
from bot.config import parse_config
from bot.domain import Delivery, Identity, Interaction, InteractionKind, OutboundMessage, Platform, Purchase
from bot.simulated_time import advance
from bot.usecases.replies import Actor
from tests.core.conftest import EXAMPLE, TEACHER

K = InteractionKind
CLASS_AT = datetime(2026, 11, 4, 18, 0, tzinfo=UTC)


class OrderedMessenger(RecordingMessenger):
    """Records when (in the order of everything that happens in the test) each message went out."""

    def __init__(self, platform: Platform, ticks: Iterator[int]) -> None:
        super().__init__(platform)
        self.ticks = ticks
        self.order: list[int] = []

    async def send(self, message: OutboundMessage) -> Delivery:
        self.order.append(next(self.ticks))
        return await super().send(message)


steps = st.lists(
    st.fixed_dictionaries(
        {
            "trigger": st.sampled_from(["before_class", "class_started", "class_ended"]),
            "offset": st.sampled_from(["0s", "10m", "1h", "3h", "1d"]),
            "audience": st.lists(
                st.sampled_from(["everyone", "attended", "no_show", "hot", "warm", "cold"]),
                min_size=1,
                max_size=3,
                unique=True,
            ),
            "promotional": st.booleans(),
            "coupon": st.sampled_from(["", "hot-48h"]),
        }
    ),
    min_size=1,
    max_size=5,
)
learners = st.lists(
    st.fixed_dictionaries(
        {
            "platform": st.sampled_from([Platform.TELEGRAM, Platform.DISCORD]),
            "opt_out": st.sampled_from([None, "start", "before_live", "during_class", "after_end"]),
            "bought": st.booleans(),
            "watch": st.integers(0, 60),
            "questions": st.integers(0, 4),
        }
    ),
    min_size=1,
    max_size=6,
)


def config_with(step_list: list[dict[str, Any]]) -> Any:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["campaigns"] = [
        {
            "id": "random",
            "course": "python101",
            "steps": [
                {"id": f"s{i}", "text": "Hi {{ name }} {{ coupon }}", **step}
                for i, step in enumerate(step_list)
            ],
        }
    ]
    return parse_config(data)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(step_list=steps, people=learners)
async def test_no_promotion_reaches_an_opted_out_learner_or_a_buyer_and_nothing_is_sent_twice(
    redis_url: str, step_list: list[dict[str, Any]], people: list[dict[str, Any]]
) -> None:
    clock = ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    ticks = itertools.count()
    messengers = {p: OrderedMessenger(p, ticks) for p in (Platform.TELEGRAM, Platform.DISCORD)}
    app = await build_app(
        config_with(step_list),
        clock=clock,
        messengers=dict(messengers),
        redis_url=redis_url,
        scheduler_mode="manual",
    )
    await app.store.client.flushdb()
    opted_out_at: dict[str, int] = {}
    ids: list[str] = []

    async def opt_out(stage: str) -> None:
        for person, learner_id in zip(people, ids, strict=True):
            if person["opt_out"] == stage:
                who = Identity(person["platform"], learner_id.split("-", 1)[1])
                await app.learner.stop(who, f"stop-{learner_id}", course_id="python101")
                opted_out_at[learner_id] = next(ticks)

    try:
        for n, person in enumerate(people):
            who = Identity(person["platform"], str(1000 + n))
            await app.learner.start(who, f"start-{n}", course_id="python101")
            ids.append(await app.store.learners.resolve(who))
            if person["bought"]:
                await app.purchases.record(Purchase(f"o{n}", "python101", ids[-1], 199, "USD", clock.now()))
        await opt_out("start")
        teacher = Actor(TEACHER)
        assert (await app.teacher.schedule(teacher, "python101", "wed 18:00 Random")).ok
        await advance(app, clock, CLASS_AT - timedelta(hours=2))
        await opt_out("before_live")
        await advance(app, clock, CLASS_AT)
        assert (await app.teacher.live(teacher, "python101", "https://youtube.com/live/x")).ok
        session = await app.store.classes.current("python101")
        assert session is not None
        events = []
        for person, learner_id in zip(people, ids, strict=True):
            events += [
                Interaction(
                    K.WATCH_HEARTBEAT,
                    Platform.WEB,
                    f"hb-{learner_id}-{m}",
                    "python101",
                    learner_id,
                    CLASS_AT,
                    class_id=session.id,
                    payload={"seconds": 60},
                )
                for m in range(person["watch"])
            ]
            events += [
                Interaction(
                    K.QUESTION,
                    Platform.TELEGRAM,
                    f"q-{learner_id}-{q}",
                    "python101",
                    learner_id,
                    CLASS_AT,
                    class_id=session.id,
                )
                for q in range(person["questions"])
            ]
        await app.store.intake.ingest(events)
        await advance(app, clock, CLASS_AT + timedelta(minutes=30))
        await opt_out("during_class")
        await advance(app, clock, CLASS_AT + timedelta(minutes=60))
        assert (await app.teacher.end(teacher, "python101")).ok
        await advance(app, clock, CLASS_AT + timedelta(hours=2))
        await opt_out("after_end")
        await advance(app, clock, CLASS_AT + timedelta(days=3))
        # Some steps fire again, as a second scheduler would.
        for step in app.config.campaigns[0].steps:
            await app.runner.run("python101", session.id, "random", step.id)
        await app.dispatcher.drain()
    finally:
        await app.close()

    buyers = {learner_id for person, learner_id in zip(people, ids, strict=True) if person["bought"]}
    seen: Counter[tuple[str, str]] = Counter()
    for messenger in messengers.values():
        for sent, at in zip(messenger.sent, messenger.order, strict=True):
            learner_id = sent.message.learner_id
            if not learner_id:
                continue
            seen[(learner_id, sent.message.step_id)] += 1
            if learner_id in opted_out_at:
                assert at < opted_out_at[learner_id], "a message reached a learner after they opted out"
            if sent.message.promotional:
                assert learner_id not in buyers, "a promotion reached a buyer"
    assert all(count == 1 for count in seen.values()), seen
