"""The relay's small parts: group commit, client IPs behind proxies, per-IP limits, the redacted access log,
the heartbeat pace, the link expiry rules, and the [relay] config section."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from bot.batching import MicroBatcher
from bot.clock import ManualClock
from bot.config import ConfigError
from bot.config.relay import RelayConfig, link_secret
from bot.domain import ClassSession, ClassState
from stream_relay.accesslog import redact
from stream_relay.clientip import client_ip
from stream_relay.links import TrackedLinks
from stream_relay.lru import Lru
from stream_relay.ports import RelayState
from stream_relay.ratelimit import IpRateLimiter
from stream_relay.server import heartbeat_min_gap
from stream_relay.tokens import LinkSigner
from tests.relay.conftest import relay_config

NO_STATE = cast(RelayState, object())  # expiry is arithmetic: it never reaches the store

# --- group commit ---


async def test_requests_waiting_together_are_written_in_one_batch_each_getting_its_own_result() -> None:
    batches: list[list[int]] = []

    async def flush(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        await asyncio.sleep(0)
        return [i * 10 for i in items]

    batcher: MicroBatcher[int, int] = MicroBatcher(flush)
    assert await asyncio.gather(*(batcher.submit(i) for i in range(5))) == [0, 10, 20, 30, 40]
    assert batches == [[0, 1, 2, 3, 4]]
    assert await batcher.submit(7) == 70  # alone, at once
    assert batches[-1] == [7]


async def test_what_arrives_during_a_flush_goes_in_the_next_and_batches_respect_the_size_limit() -> None:
    batches: list[list[int]] = []
    gate = asyncio.Event()

    async def flush(items: Sequence[int]) -> list[None]:
        batches.append(list(items))
        await gate.wait()
        return [None] * len(items)

    batcher: MicroBatcher[int, None] = MicroBatcher(flush, max_size=2)
    first = asyncio.ensure_future(batcher.submit(0))
    await asyncio.sleep(0.01)
    later = [asyncio.ensure_future(batcher.submit(i)) for i in (1, 2, 3)]
    await asyncio.sleep(0.01)
    gate.set()
    await asyncio.gather(first, *later)
    assert batches == [[0], [1, 2], [3]]


@pytest.mark.parametrize("in_flight", [1, 3])
async def test_a_request_right_after_a_flush_ends_is_written_too(in_flight: int) -> None:
    async def flush(items: Sequence[int]) -> list[int]:
        return list(items)

    batcher: MicroBatcher[int, int] = MicroBatcher(flush, in_flight=in_flight)
    for i in range(5):  # each submit comes the moment the previous flush (and its drainer) finished
        async with asyncio.timeout(2):  # (not wait_for: its extra task would let the drainer finish first)
            assert await batcher.submit(i) == i
    await batcher.flushed()


async def test_a_failed_write_fails_every_request_of_its_batch_and_logs_the_queued_ones(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def flush(items: Sequence[int]) -> list[int]:
        raise ConnectionError("store down")

    batcher: MicroBatcher[int, int] = MicroBatcher(flush, name="test intake")
    batcher.put(99)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert "test intake: 1 queued writes lost: ConnectionError: store down" in caplog.text


async def test_queued_items_are_written_with_the_next_batch_without_anyone_waiting() -> None:
    written: list[int] = []

    async def flush(items: Sequence[int]) -> list[None]:
        written.extend(items)
        return [None] * len(items)

    batcher: MicroBatcher[int, None] = MicroBatcher(flush, window=0.001)
    for i in range(3):
        batcher.put(i)
    await batcher.submit(3)
    await batcher.flushed()
    assert written == [0, 1, 2, 3]


# --- client IPs and limits ---

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32"))


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # not a proxy: its header is ignored
        ("127.0.0.1", "198.51.100.1", "198.51.100.1"),
        ("127.0.0.1", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the left entry was written by the client
        ("127.0.0.1", "198.51.100.1, 10.1.2.3", "198.51.100.1"),  # two proxies deep
        ("127.0.0.1", "10.1.2.3", "10.1.2.3"),  # all proxies: the leftmost
        ("127.0.0.1", "garbage, 198.51.100.1", "198.51.100.1"),
        ("127.0.0.1", "198.51.100.1, garbage", "127.0.0.1"),  # a broken proxy chain trusts nothing
        ("127.0.0.1", None, "127.0.0.1"),
        (None, "198.51.100.1", "unknown"),
    ],
)
def test_the_client_ip_is_the_rightmost_address_not_a_trusted_proxy(
    peer: str | None, xff: str | None, expected: str
) -> None:
    assert client_ip(peer, xff, PROXIES) == expected


def test_each_ip_has_its_own_bucket_and_forgotten_ips_start_afresh() -> None:
    limiter = IpRateLimiter({"links": 2}, tracked=2, clock=lambda: 0.0)
    assert [limiter.allow("links", "a") for _ in range(3)] == [True, True, False]
    assert limiter.allow("links", "b")
    assert limiter.allow("links", "c")  # pushes "a" out of the LRU
    assert limiter.allow("links", "a")
    assert limiter.retry_after("links") == 30


def test_a_full_bucket_lets_one_more_request_through_per_steady_interval() -> None:
    now = [0.0]
    limiter = IpRateLimiter({"links": 6}, tracked=10, clock=lambda: now[0])  # 6 a minute: one every 10 s
    assert all(limiter.allow("links", "a") for _ in range(6))  # the burst
    assert not limiter.allow("links", "a")
    now[0] = 9.0
    assert not limiter.allow("links", "a")  # refused requests do not count against the client
    now[0] = 10.0
    assert limiter.allow("links", "a")
    assert not limiter.allow("links", "a")
    now[0] = 70.0
    assert [limiter.allow("links", "a") for _ in range(7)] == [True] * 6 + [
        False
    ]  # empty again after a minute


def test_the_lru_forgets_the_least_recently_used_first() -> None:
    lru: Lru[str, int] = Lru(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1
    lru.put("c", 3)
    assert ("a" in lru, "b" in lru, "c" in lru, len(lru)) == (True, False, True, 2)


def test_the_access_log_shows_no_tokens() -> None:
    assert redact("/j/AbC-_123") == "/j/…"
    assert redact("/w/AbC-_123") == "/w/…"
    assert redact("/hb") == "/hb"
    assert redact("/static/watch.js") == "/static/watch.js"


def test_the_heartbeat_pace_allows_some_jitter_but_never_double_speed() -> None:
    assert heartbeat_min_gap(timedelta(seconds=15)) == timedelta(seconds=13.5)
    assert heartbeat_min_gap(timedelta(seconds=1)) == timedelta(seconds=0.75)


# --- link expiry ---


def test_links_expire_after_the_grace_or_the_maximum_lifetime_whichever_comes_first() -> None:
    relay = relay_config(link_grace="2h", link_max_lifetime="24h").relay
    start = datetime(2026, 11, 2, 18, 0, tzinfo=UTC)
    links = TrackedLinks(LinkSigner(b"k" * 32), NO_STATE, relay, ManualClock(start))
    scheduled = ClassSession("c1", "py101", "T", ClassState.SCHEDULED, scheduled_at=start)
    assert links.expiry(scheduled, start - timedelta(days=1)) == start + timedelta(hours=24)
    live = scheduled.go_live("https://youtu.be/dQw4w9WgXcQ", start + timedelta(minutes=3))
    assert links.expiry(live, start) == start + timedelta(hours=24, minutes=3)
    ended = live.end(start + timedelta(hours=1))
    assert links.expiry(ended, start) == start + timedelta(hours=3)
    marathon = replace(ended, ended_at=start + timedelta(hours=23))
    assert links.expiry(marathon, start) == start + timedelta(hours=24, minutes=3)


# --- configuration ---


def test_the_relay_config_reports_each_bad_key_with_its_path() -> None:
    with pytest.raises(ConfigError) as caught:
        relay_config(
            public_base_url="live.example.com",
            heartbeat_interval="0s",
            trusted_proxies=["10.0.0.0/33"],
            rate_limits={"links": 0, "heartbeat": 5},
            probe_interval="500ms",
        )
    text = str(caught.value)
    for fragment in (
        "relay.public_base_url: 'live.example.com' is not an http(s) address",
        "relay.heartbeat_interval: 0s is out of range (between 1s and 5m)",
        "relay.trusted_proxies: '10.0.0.0/33' is not an IP address or network",
        "relay.rate_limits.links:",
        "relay.rate_limits.heartbeat: unknown key 'heartbeat' (did you mean 'heartbeats'?)",
        "relay.probe_interval:",
    ):
        assert fragment in text


def test_the_heartbeat_interval_is_whole_seconds() -> None:
    with pytest.raises(ConfigError, match=r"relay.heartbeat_interval: 1.5s is not a whole number of seconds"):
        relay_config(heartbeat_interval="1.5s")


def test_the_public_base_url_loses_its_trailing_slash() -> None:
    assert relay_config(public_base_url="https://x.example.com/live/").relay.public_base_url == (
        "https://x.example.com/live"
    )


def test_the_link_secret_comes_from_the_named_environment_variable_and_must_be_long() -> None:
    relay = RelayConfig(link_secret_env="MY_SECRET")
    assert link_secret(relay, {"MY_SECRET": "x" * 32}) == b"x" * 32
    with pytest.raises(
        ConfigError, match=r"relay.link_secret_env: the environment variable MY_SECRET is not set"
    ):
        link_secret(relay, {})
    with pytest.raises(ConfigError, match=r"too short \(5 characters\)"):
        link_secret(relay, {"MY_SECRET": "short"})
