"""The relay's HTTP endpoints, driven through the real aiohttp app on the real store."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta

from aiohttp import web

from adapters.redis import RedisStore
from adapters.redis.local_server import free_port
from bot.clock import ManualClock
from bot.domain import ClassState, FlashOffer, InteractionKind, LinkGrant
from stream_relay.server import create_app
from stream_relay.tokens import LinkSigner
from tests.relay.conftest import COURSE, SECRET, AppClient, MakeRelay, live_class, relay_config

YOUTUBE = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
HLS = "https://cdn.example.net/live/class.m3u8"
ZOOM = "https://us02web.zoom.us/j/85012345678"
GRANT = LinkGrant(COURSE, "c1", "tg-1")


# --- GET /j/<token> ---


async def test_a_click_on_an_embeddable_stream_is_recorded_and_leads_to_the_watch_page(
    make_relay: MakeRelay,
) -> None:
    relay = await make_relay()
    session = live_class(relay.clock, YOUTUBE)
    await relay.store.classes.save(session)
    path = await relay.link(session)
    response = await relay.client.get(path, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "../w/" + path.removeprefix("/j/")
    assert response.headers["Cache-Control"] == "no-store"  # or a second click would never reach us
    [activity] = await relay.activity(session)
    assert (activity.learner_id, activity.count(InteractionKind.LINK_CLICK)) == ("tg-1", 1)


async def test_every_click_counts_even_on_the_same_link(make_relay: MakeRelay) -> None:
    relay = await make_relay()
    session = live_class(relay.clock, HLS)
    await relay.store.classes.save(session)
    path = await relay.link(session)
    for _ in range(3):
        assert (await relay.client.get(path, allow_redirects=False)).status == 303
    assert (await relay.counters(session))[InteractionKind.LINK_CLICK.value] == "3"


async def test_a_click_on_a_stream_we_cannot_embed_redirects_to_it(make_relay: MakeRelay) -> None:
    relay = await make_relay()
    session = live_class(relay.clock, ZOOM)
    await relay.store.classes.save(session)
    response = await relay.client.get(await relay.link(session), allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == ZOOM
    assert response.headers["Referrer-Policy"] == "no-referrer"  # the token never reaches Zoom
    assert await relay.events() == 1


async def test_a_click_before_the_class_has_a_stream_leads_to_the_waiting_page(make_relay: MakeRelay) -> None:
    relay = await make_relay()
    session = replace(
        live_class(relay.clock, ""),
        state=ClassState.SCHEDULED,
        started_at=None,
        scheduled_at=relay.clock.now() + timedelta(minutes=30),
    )
    await relay.store.classes.save(session)
    path = await relay.link(session)
    page = await relay.client.get(path)
    assert page.status == 200
    html = await page.text()
    assert "has not started yet" in html
    assert '<meta http-equiv="refresh" content="30">' in html
    assert await relay.events() == 1  # the click counts: the learner showed up early


async def test_forged_tampered_malformed_and_expired_links_get_a_403_page_and_nothing_is_recorded(
    make_relay: MakeRelay,
) -> None:
    relay = await make_relay()
    session = live_class(relay.clock, YOUTUBE)
    await relay.store.classes.save(session)
    good = (await relay.link(session)).removeprefix("/j/")
    raw = bytearray(base64.urlsafe_b64decode(good + "="))
    raw[4] ^= 0x01  # the expiry
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    other = LinkSigner(b"not our secret, but long enough!!")
    forged = other.sign(other.grant_id(GRANT), relay.clock.now() + timedelta(hours=1))
    cases = {forged: "not issued by us", tampered: "has been altered", "nonsense": "not a valid class link"}
    for token, explanation in cases.items():
        for route in ("j", "w", "o"):
            response = await relay.client.get(f"/{route}/{token}", allow_redirects=False)
            assert response.status == 403, (route, token)
            assert explanation in await response.text()
            assert "set-cookie" not in response.headers
    relay.clock.advance(timedelta(days=2))  # past link_max_lifetime
    expired = await relay.client.get(f"/j/{good}", allow_redirects=False)
    assert expired.status == 403
    assert "expired" in await expired.text()
    assert await relay.events() == 0


async def test_a_link_expires_once_its_class_ended_longer_ago_than_the_grace(make_relay: MakeRelay) -> None:
    relay = await make_relay(link_grace="30m")
    session = live_class(relay.clock, YOUTUBE)
    await relay.store.classes.save(session)
    path = await relay.link(session)
    await relay.store.classes.save(session.end(relay.clock.now()))
    relay.clock.advance(timedelta(minutes=29))
    assert (await relay.client.get(path, allow_redirects=False)).status == 303
    relay.clock.advance(timedelta(minutes=1))
    refused = await relay.client.get(path, allow_redirects=False)
    assert refused.status == 403
    assert "the class is over" in await refused.text()
    assert await relay.events() == 1


async def test_a_link_whose_record_is_gone_is_refused_as_no_longer_valid(make_relay: MakeRelay) -> None:
    relay = await make_relay()
    session = live_class(relay.clock, YOUTUBE)
    await relay.store.classes.save(session)
    path = await relay.link(session)
    await relay.store.client.flushdb()
    await relay.store.classes.save(session)
    response = await relay.client.get(path, allow_redirects=False)
    assert response.status == 403
    assert "no longer valid" in await response.text()


# --- GET /w/<token>: the watch page ---


async def test_the_watch_page_embeds_youtube_without_cookies_and_with_a_strict_policy(
    make_relay: MakeRelay,
) -> None:
    relay = await make_relay()
    session = live_class(relay.clock, YOUTUBE)
    await relay.store.classes.save(session)
    token = (await relay.link(session)).removeprefix("/j/")
    page = await relay.client.get(f"/w/{token}")
    assert page.status == 200
    html = await page.text()
    assert "<title>Decorators &lt;live&gt;</title>" in html  # the title, escaped
    assert 'src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?autoplay=1&amp;rel=0"' in html
    assert 'data-interval-ms="10000"' in html
    assert "hls.light.min.js" not in html
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-src https://www.youtube-nocookie.com" in policy
    assert "set-cookie" not in page.headers
    assert page.headers["Referrer-Policy"] == "strict-origin"  # embeds see our origin, never the token
    assert await relay.events() == 0  # opening or reloading the page is not a click


async def test_the_watch_page_plays_hls_with_our_own_copy_of_hls_js(make_relay: MakeRelay) -> None:
    relay = await make_relay()
    session = live_class(relay.clock, HLS)
    await relay.store.classes.save(session)
    token = (await relay.link(session)).removeprefix("/j/")
    page = await relay.client.get(f"/w/{token}")
    html = await page.text()
    assert "<video" in html
    assert f'data-src="{HLS}"' in html
    assert '<script src="../static/hls.light.min.js"></script>' in html
    policy = page.headers["Content-Security-Policy"]
    assert "media-src 'self' blob: https://cdn.example.net" in policy
    assert "connect-src 'self' https://cdn.example.net" in policy
    script = await relay.client.get("/static/hls.light.min.js")
    assert script.status == 200
    body = await script.read()
    assert 100_000 < len(body) < 500_000
    assert script.headers["Cache-Control"].startswith("public")


async def test_the_watch_page_redirects_when_the_teacher_moved_to_a_host_we_cannot_embed(
    make_relay: MakeRelay,
) -> None:
    relay = await make_relay()
    session = live_class(relay.clock, YOUTUBE)
    await relay.store.classes.save(session)
    token = (await relay.link(session)).removeprefix("/j/")
    await relay.store.classes.save(session.go_live(ZOOM, relay.clock.now()))
    response = await relay.client.get(f"/w/{token}", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (302, ZOOM)


async def test_the_watch_page_shows_the_running_flash_offer_and_its_click_is_recorded(
    make_relay: MakeRelay,
) -> None:
    relay = await make_relay()
    session = live_class(relay.clock, YOUTUBE)
    await relay.store.classes.save(session)
    token = (await relay.link(session)).removeprefix("/j/")
    now = relay.clock.now()
    await relay.store.offers.save(FlashOffer("o1", COURSE, "c9", "flash20", now, now + timedelta(minutes=5)))
    assert "Flash offer" not in await (await relay.client.get(f"/w/{token}")).text()  # another class's
    await relay.store.offers.save(FlashOffer("o2", COURSE, "c1", "flash20", now, now + timedelta(minutes=10)))
    html = await (await relay.client.get(f"/w/{token}")).text()
    assert "⚡ Flash offer: 20% off Python 101 — 10 min left. Claim your personal code in the chat." in html
    assert f'href="../o/{token}"' in html
    click = await relay.client.get(f"/o/{token}", allow_redirects=False)
    assert (click.status, click.headers["Location"]) == (302, "https://shop.example.com/py101")
    assert (await relay.counters(session))[InteractionKind.OFFER_CLICK.value] == "1"
    relay.clock.advance(timedelta(minutes=10))  # ended
    html = await (await relay.client.get(f"/w/{token}")).text()
    assert "Flash offer" not in html
    late = await relay.client.get(f"/o/{token}", allow_redirects=False)
    assert (late.status, late.headers["Location"]) == (303, f"../w/{token}")
    assert (await relay.counters(session))[InteractionKind.OFFER_CLICK.value] == "1"


# --- POST /hb ---


async def test_heartbeats_count_the_interval_once_per_interval(make_relay: MakeRelay) -> None:
    relay = await make_relay(heartbeat_interval="10s")
    session = live_class(relay.clock, HLS)
    await relay.store.classes.save(session)
    token = (await relay.link(session)).removeprefix("/j/")
    first = await relay.client.post("/hb", data=token)
    assert (first.status, await first.json()) == (200, {"counted": True, "reason": "counted", "offer": None})
    relay.clock.advance(timedelta(seconds=3))
    too_soon = await relay.client.post("/hb", data=token)
    assert (await too_soon.json())["reason"] == "too_soon"
    relay.clock.advance(timedelta(seconds=6))  # 9 s after the first: within the allowed slack of 1 s
    assert (await (await relay.client.post("/hb", data=token)).json())["counted"] is True
    relay.clock.advance(timedelta(seconds=8))  # 8 s after the last counted one: too soon again
    assert (await (await relay.client.post("/hb", data=token)).json())["counted"] is False
    [activity] = await relay.activity(session)
    assert activity.watched_seconds == 20
    assert await relay.store.relay.live_viewers(COURSE, "c1", relay.clock.now() - timedelta(minutes=1)) == 1


async def test_heartbeats_outside_the_class_window_do_not_count(make_relay: MakeRelay) -> None:
    relay = await make_relay(heartbeat_interval="10s")
    scheduled = replace(
        live_class(relay.clock, HLS),
        state=ClassState.SCHEDULED,
        started_at=None,
        scheduled_at=relay.clock.now() + timedelta(minutes=5),
    )
    await relay.store.classes.save(scheduled)
    token = (await relay.link(scheduled)).removeprefix("/j/")
    assert (await (await relay.client.post("/hb", data=token)).json())["reason"] == "not_live"
    live = scheduled.go_live(HLS, relay.clock.now())
    await relay.store.classes.save(live)
    assert (await (await relay.client.post("/hb", data=token)).json())["counted"] is True
    await relay.store.classes.save(live.end(relay.clock.now()))
    relay.clock.advance(timedelta(seconds=9.5))  # ended less than one interval ago: the last one counts
    assert (await (await relay.client.post("/hb", data=token)).json())["counted"] is True
    relay.clock.advance(timedelta(seconds=10))
    assert (await (await relay.client.post("/hb", data=token)).json())["reason"] == "ended"
    [activity] = await relay.activity(live)
    assert activity.watched_seconds == 20


async def test_heartbeats_with_a_bad_token_are_refused_and_not_counted(make_relay: MakeRelay) -> None:
    relay = await make_relay()
    session = live_class(relay.clock, HLS)
    await relay.store.classes.save(session)
    token = (await relay.link(session)).removeprefix("/j/")
    other = LinkSigner(b"not our secret, but long enough!!")
    forged = other.sign(other.grant_id(GRANT), relay.clock.now() + timedelta(hours=1))
    for bad, reason in [
        (b"\xff\xfe not text", "malformed"),
        ("", "malformed"),
        ("A" * 43, "malformed"),
        (token[:-2] + "AA", "tampered"),
        (forged, "forged"),
    ]:
        response = await relay.client.post("/hb", data=bad)
        assert response.status == 403
        assert await response.json() == {"counted": False, "reason": reason}
    assert (await relay.client.post("/hb", data="x" * 10_000)).status == 413
    assert await relay.events() == 0


async def test_two_relay_processes_share_the_pace_of_a_learner(
    make_relay: MakeRelay, store: RedisStore, clock: ManualClock
) -> None:
    first, second = await make_relay(), await make_relay()
    session = live_class(clock, HLS)
    await store.classes.save(session)
    token = (await first.link(session)).removeprefix("/j/")
    assert (await (await first.client.post("/hb", data=token)).json())["counted"] is True
    clock.advance(timedelta(seconds=2))
    assert (await (await second.client.post("/hb", data=token)).json())["reason"] == "too_soon"


async def test_a_heartbeat_brings_the_offer_the_teacher_just_started(make_relay: MakeRelay) -> None:
    relay = await make_relay()
    session = live_class(relay.clock, HLS)
    await relay.store.classes.save(session)
    token = (await relay.link(session)).removeprefix("/j/")
    assert (await (await relay.client.post("/hb", data=token)).json())["offer"] is None
    now = relay.clock.now()
    await relay.store.offers.save(FlashOffer("o1", COURSE, "c1", "flash20", now, now + timedelta(seconds=90)))
    relay.clock.advance(timedelta(seconds=45))
    answer = await (await relay.client.post("/hb", data=token)).json()
    assert answer["offer"] == {
        "text": "⚡ Flash offer: 20% off Python 101 — 45 s left. Claim your personal code in the chat.",
        "url": True,
    }


# --- rate limits, client IPs, health, failures ---


async def test_each_endpoint_answers_429_past_its_per_ip_rate(make_relay: MakeRelay) -> None:
    relay = await make_relay(rate_limits={"links": 3, "pages": 2, "heartbeats": 4, "health": 2})
    session = live_class(relay.clock, HLS)
    await relay.store.classes.save(session)
    path = await relay.link(session)
    token = path.removeprefix("/j/")
    for method, url, allowed in [
        ("GET", path, 3),
        ("GET", f"/w/{token}", 2),
        ("POST", "/hb", 4),
        ("GET", "/healthz", 2),
    ]:
        statuses = [
            (await relay.client.request(method, url, data=token, allow_redirects=False)).status
            for _ in range(allowed + 1)
        ]
        assert 429 not in statuses[:allowed], (url, statuses)
        assert statuses[allowed] == 429, (url, statuses)
    refused = await relay.client.get("/healthz")
    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["Cache-Control"] == "no-store"
    assert await relay.events() == 3 + 1  # three clicks and the first heartbeat; nothing refused was recorded


async def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(make_relay: MakeRelay) -> None:
    untrusted = await make_relay(rate_limits={"health": 1})
    assert (await untrusted.client.get("/healthz", headers={"X-Forwarded-For": "203.0.113.1"})).status == 200
    # A client cannot pretend to be someone else to dodge its limit:
    assert (await untrusted.client.get("/healthz", headers={"X-Forwarded-For": "203.0.113.2"})).status == 429

    proxied = await make_relay(rate_limits={"health": 1}, trusted_proxies=["127.0.0.0/8", "::1"])
    for client_ip in ("203.0.113.1", "203.0.113.2"):
        assert (await proxied.client.get("/healthz", headers={"X-Forwarded-For": client_ip})).status == 200
    spoofed = {"X-Forwarded-For": "198.51.100.7, 203.0.113.1"}  # the client wrote the first entry itself
    assert (await proxied.client.get("/healthz", headers=spoofed)).status == 429


async def test_health_is_ok_while_the_store_answers(make_relay: MakeRelay) -> None:
    relay = await make_relay()
    response = await relay.client.get("/healthz")
    assert (response.status, await response.json()) == (200, {"status": "ok"})
    assert (await relay.client.get("/nothing-here")).status == 404


async def test_with_the_store_down_the_relay_answers_503_and_health_says_so(
    aiohttp_client: Callable[[web.Application], Awaitable[AppClient]], clock: ManualClock
) -> None:
    dead = RedisStore.open(f"redis://127.0.0.1:{free_port()}/0")
    app = create_app(relay_config(), dead, clock, SECRET, class_cache_ttl=0)
    client = await aiohttp_client(app)
    signer = LinkSigner(SECRET)
    token = signer.sign(signer.grant_id(GRANT), clock.now() + timedelta(hours=1))
    response = await client.post("/hb", data=token)
    assert response.status == 503
    assert "Temporarily unavailable" in await response.text()
    health = await client.get("/healthz")
    assert (health.status, await health.json()) == (503, {"status": "store unavailable"})
    await dead.close()
