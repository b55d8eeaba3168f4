"""The relay's state in Redis: grants, the heartbeat pace shared by every process, live viewers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.redis import RedisStore
from bot.domain import LinkGrant

T0 = datetime(2026, 11, 2, 18, 0, tzinfo=UTC)
GAP = timedelta(seconds=9)


async def test_grants_are_stored_by_id_and_unknown_ids_are_absent(store: RedisStore) -> None:
    grants = {"a1": LinkGrant("py101", "c1", "tg-1"), "b2": LinkGrant("py101", "c1", "dc-2:odd")}
    await store.relay.put_grants(grants, timedelta(hours=1))
    assert await store.relay.get_grants(["b2", "zz", "a1"]) == grants
    assert await store.relay.get_grants([]) == {}


async def test_a_heartbeat_is_admitted_once_per_gap_per_learner_and_class(store: RedisStore) -> None:
    ann, bob = LinkGrant("py101", "c1", "tg-1"), LinkGrant("py101", "c1", "tg-2")
    ann_next_class, other_course = LinkGrant("py101", "c2", "tg-1"), LinkGrant("js", "c1", "tg-1")
    admit = store.relay.admit_heartbeats
    batch = [(ann, T0), (bob, T0), (ann, T0 + timedelta(seconds=1)), (ann_next_class, T0), (other_course, T0)]
    assert await admit(batch, GAP) == [True, True, False, True, True]
    assert await admit([(ann, T0 + timedelta(seconds=8.999))], GAP) == [False]
    assert await admit([(ann, T0 + GAP)], GAP) == [True]
    assert await admit([(ann, T0 + GAP - timedelta(seconds=1))], GAP) == [False]  # late arrivals do not count


async def test_live_viewers_are_the_learners_admitted_since_a_moment(store: RedisStore) -> None:
    beats = [(LinkGrant("py101", "c1", f"tg-{i}"), T0 + timedelta(seconds=20 * i)) for i in range(4)]
    await store.relay.admit_heartbeats(beats, GAP)
    assert await store.relay.live_viewers("py101", "c1", T0 + timedelta(seconds=30)) == 2
    assert await store.relay.live_viewers("py101", "c1", T0) == 4
    assert await store.relay.live_viewers("py101", "c2", T0) == 0
