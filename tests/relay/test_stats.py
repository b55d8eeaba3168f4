"""Viewer statistics of a class: live viewers, average watch time, the share of learners who joined."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import Identity, Platform
from stream_relay.stats import viewer_stats
from tests.relay.conftest import COURSE, MakeRelay, live_class


async def test_stats_count_live_viewers_watch_time_and_who_opened_their_link(make_relay: MakeRelay) -> None:
    relay = await make_relay(heartbeat_interval="15s")
    session = live_class(relay.clock, "https://cdn.example.net/live/a.m3u8")
    await relay.store.classes.save(session)
    for learner in ("tg-1", "tg-2", "tg-3", "dc-4"):  # four learners in the course
        await relay.store.activity.enroll(COURSE, learner)
    await relay.store.learners.resolve(Identity(Platform.TELEGRAM, "1"), "Ann")
    tokens = {lid: (await relay.link(session, lid)).removeprefix("/j/") for lid in ("tg-1", "tg-2", "tg-3")}
    for lid in ("tg-1", "tg-2", "tg-3"):
        await relay.client.get(f"/j/{tokens[lid]}", allow_redirects=False)  # three opened their link
    # tg-1 watches four intervals, tg-2 one, two minutes before; tg-3 clicked and left; dc-4 never came.
    await relay.client.post("/hb", data=tokens["tg-2"])
    for _ in range(4):
        await relay.client.post("/hb", data=tokens["tg-1"])
        relay.clock.advance(timedelta(seconds=30))
    await relay.server.flushed()
    stats = await viewer_stats(session, relay.store.activity, relay.store.relay, relay.clock.now())
    assert stats.live_viewers == 1  # tg-2's last heartbeat is two minutes old
    assert stats.watchers == 2
    assert stats.average_watch_seconds == (4 * 15 + 15) / 2
    assert (stats.joined, stats.learners) == (3, 4)
    assert stats.joined_share == 0.75


async def test_stats_of_a_class_nobody_came_to_are_zeros(make_relay: MakeRelay) -> None:
    relay = await make_relay()
    session = live_class(relay.clock, "https://youtu.be/dQw4w9WgXcQ")
    stats = await viewer_stats(session, relay.store.activity, relay.store.relay, relay.clock.now())
    assert (stats.live_viewers, stats.watchers, stats.average_watch_seconds, stats.joined) == (0, 0, 0.0, 0)
    assert stats.joined_share == 0.0
