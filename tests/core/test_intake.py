"""Intake: dedup by platform event id, one event log, counters per learner and per class, one round trip."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio.connection import Connection as AsyncConnection

from adapters.redis import RedisStore
from bot.domain import Interaction, InteractionKind, Platform

K = InteractionKind
T0 = datetime(2026, 11, 4, 18, 0, tzinfo=UTC)


def event(
    kind: InteractionKind,
    event_id: str,
    learner: str = "tg-1",
    course: str = "py",
    class_id: str = "c1",
    at: datetime = T0,
    platform: Platform = Platform.TELEGRAM,
    **payload: int | str,
) -> Interaction:
    return Interaction(
        kind, platform, event_id, course, learner, at, chat_id="-100", class_id=class_id, payload=payload
    )


async def test_a_duplicate_interaction_counts_once(store: RedisStore) -> None:
    first = await store.intake.ingest([event(K.MESSAGE, "u1"), event(K.MESSAGE, "u1")])
    again = await store.intake.ingest([event(K.MESSAGE, "u1")])
    assert (first.accepted, first.duplicates) == (1, 1)
    assert (again.accepted, again.duplicates) == (0, 1)
    assert await store.client.hget(store.keys.learner_class("py", "c1", "tg-1"), "message") == "1"
    assert await store.client.xlen(store.keys.events("py")) == 1


async def test_the_same_event_id_on_another_platform_is_another_event(store: RedisStore) -> None:
    result = await store.intake.ingest(
        [event(K.REACTION, "42"), event(K.REACTION, "42", platform=Platform.DISCORD)]
    )
    assert result.accepted == 2


async def test_feeding_the_same_input_twice_changes_nothing(store: RedisStore, redis_url: str) -> None:
    batch = [
        event(K.MESSAGE, "m1"),
        event(K.QUESTION, "q1", learner="tg-2"),
        event(K.WATCH_HEARTBEAT, "hb1", platform=Platform.WEB, seconds=15),
        event(K.PURCHASE, "order:1", class_id="", platform=Platform.WEB),
    ]
    await store.intake.ingest(batch)
    before = dump(redis_url)
    await store.intake.ingest(batch)
    assert dump(redis_url) == before


def dump(url: str) -> dict[str, object]:
    """Every key and its value, to compare whole database states."""
    client = redis.Redis.from_url(url, decode_responses=True)
    state: dict[str, object] = {}
    for key in client.scan_iter():
        kind = client.type(key)
        if kind == "hash":
            state[key] = client.hgetall(key)
        elif kind == "set":
            state[key] = sorted(client.smembers(key))
        elif kind == "stream":
            state[key] = [fields for _, fields in client.xrange(key) or []]
        elif kind == "string":
            state[key] = client.get(key)
    client.close()
    return state


async def test_counters_per_learner_and_per_class(store: RedisStore) -> None:
    await store.intake.ingest(
        [
            event(K.MESSAGE, "1"),
            event(K.MESSAGE, "2"),
            event(K.QUESTION, "3"),
            event(K.WATCH_HEARTBEAT, "4", seconds=15, platform=Platform.WEB),
            event(K.WATCH_HEARTBEAT, "5", seconds=15, platform=Platform.WEB),
            event(K.REACTION, "6", class_id="c2"),
            event(K.MESSAGE, "7", class_id=""),
        ]
    )
    per_class = await store.client.hgetall(store.keys.learner_class("py", "c1", "tg-1"))
    assert (per_class["message"], per_class["question"], per_class["watch_s"]) == ("2", "1", "30")
    totals = await store.client.hgetall(store.keys.learner_totals("py", "tg-1"))
    assert (totals["message"], totals["reaction"], totals["watch_s"]) == ("3", "1", "30")
    assert await store.activity.class_attendees("py", "c1") == {"tg-1"}
    assert await store.activity.course_learners("py") == ["tg-1"]


async def test_out_of_order_events_keep_first_and_last_sightings(store: RedisStore) -> None:
    late, early = T0 + timedelta(minutes=30), T0 - timedelta(minutes=5)
    await store.intake.ingest(
        [event(K.MESSAGE, "a", at=T0), event(K.MESSAGE, "b", at=late, platform=Platform.DISCORD)]
    )
    await store.intake.ingest([event(K.MESSAGE, "c", at=early)])
    totals = await store.client.hgetall(store.keys.learner_totals("py", "tg-1"))
    assert int(totals["first_ts"]) == int(
        T0.timestamp() * 1000
    )  # first *recorded*; never moved by later events
    assert int(totals["last_ts"]) == int(late.timestamp() * 1000)
    assert totals["last_platform"] == "discord"
    per_class = await store.client.hgetall(store.keys.learner_class("py", "c1", "tg-1"))
    assert int(per_class["first_ts"]) == int(early.timestamp() * 1000)


async def test_a_purchase_makes_the_learner_a_buyer(store: RedisStore) -> None:
    await store.intake.ingest([event(K.PURCHASE, "order:9", class_id="", platform=Platform.WEB)])
    assert await store.activity.buyers("py") == {"tg-1"}


async def test_a_batch_is_one_round_trip_with_one_script_call_per_course(
    store: RedisStore, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.intake.ingest([event(K.MESSAGE, "warm-up")])  # loads the script
    sends = 0
    original = AsyncConnection.send_packed_command

    async def counting(self: AsyncConnection, command: Any, check_health: bool = True) -> None:
        nonlocal sends
        sends += 1
        await original(self, command, check_health)

    monkeypatch.setattr(AsyncConnection, "send_packed_command", counting)
    probe = redis.Redis.from_url(redis_url)
    probe.config_resetstat()
    batch = [event(K.MESSAGE, f"m{i}", learner=f"tg-{i % 7}") for i in range(300)]
    batch += [event(K.REACTION, f"r{i}", course="js") for i in range(50)]
    await store.intake.ingest(batch)
    calls = probe.info("commandstats")["cmdstat_evalsha"]["calls"]
    probe.close()
    assert sends == 1  # one network write for the whole batch
    assert calls == 2  # one script call per course (each course's keys share one cluster slot)


async def test_the_event_log_keeps_what_happened(store: RedisStore) -> None:
    await store.intake.ingest([event(K.POLL_ANSWER, "p1", option="2")])
    [(_, fields)] = await store.client.xrange(store.keys.events("py")) or []
    assert fields == {
        "k": "poll_answer",
        "p": "telegram",
        "e": "p1",
        "l": "tg-1",
        "c": "c1",
        "ch": "-100",
        "t": str(int(T0.timestamp() * 1000)),
        "d": '{"option":"2"}',
    }


kinds = st.sampled_from([K.MESSAGE, K.QUESTION, K.REACTION, K.POLL_ANSWER, K.OFFER_CLICK])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events=st.lists(
        st.tuples(st.integers(0, 30), kinds, st.sampled_from(["tg-1", "tg-2", "dc-3"])), max_size=60
    ),
    split=st.integers(0, 60),
)
async def test_counters_equal_the_distinct_events_whatever_the_redelivery(
    store: RedisStore, events: list[tuple[int, InteractionKind, str]], split: int
) -> None:
    await store.client.flushdb()
    # The same event id always describes the same event: redelivery repeats it exactly.
    by_id = {eid: (kind, learner) for eid, kind, learner in events}
    batch = [event(by_id[eid][0], f"e{eid}", learner=by_id[eid][1]) for eid, _, _ in events]
    await store.intake.ingest(batch[:split])
    await store.intake.ingest(batch[split:])
    await store.intake.ingest(batch)  # a full redelivery
    expected = Counter((learner, kind.value) for kind, learner in by_id.values())
    for (learner, kind), count in expected.items():
        assert await store.client.hget(store.keys.learner_class("py", "c1", learner), kind) == str(count)
    assert await store.client.xlen(store.keys.events("py")) == len(by_id)
