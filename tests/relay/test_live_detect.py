"""Live detection: a missing, empty or broken playlist means "not yet"; the first segment means live."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.redis import RedisStore
from bot.clock import ManualClock
from bot.domain import ClassSession, ClassState
from stream_relay.live_detect import LiveDetector, parse_playlist, playlist_has_segments, probe_until_live

EMPTY = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"
LIVE = EMPTY + "#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.0,\nseg0.ts\n#EXTINF:2.0,\nseg1.ts\n"
MASTER = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\nlow/index.m3u8\n"


class Origin:
    """An HLS origin whose answers the test scripts: one per request, the last one repeated."""

    def __init__(self, answers: list[tuple[int, str]]) -> None:
        self.answers = answers
        self.requests: list[str] = []
        self.variant = (404, "")

    async def playlist(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        status, body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return web.Response(status=status, text=body, content_type="application/vnd.apple.mpegurl")

    async def low(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        status, body = self.variant
        return web.Response(status=status, text=body)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/live/index.m3u8", self.playlist)
        app.router.add_get("/live/low/index.m3u8", self.low)
        return app


ServeOrigin = Callable[[Origin], Awaitable[str]]


@pytest.fixture
async def serve_origin(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> ServeOrigin:
    async def serve(origin: Origin) -> str:
        server = await aiohttp_server(origin.app())
        return str(server.make_url("/live/index.m3u8"))

    return serve


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        yield session


def test_parse_playlist_tells_segments_from_variants_and_ignores_what_is_not_a_playlist() -> None:
    assert parse_playlist(LIVE).segments == ("seg0.ts", "seg1.ts")
    assert parse_playlist(MASTER).variants == ("low/index.m3u8",)
    assert parse_playlist(EMPTY) == parse_playlist("<html>Not found</html>") == parse_playlist("")
    assert not parse_playlist("seg0.ts\n#EXTINF:2,\nseg1.ts").segments  # no #EXTM3U header


async def test_the_callback_runs_once_after_404s_and_empty_playlists(
    serve_origin: ServeOrigin, http: aiohttp.ClientSession
) -> None:
    origin = Origin(
        [(404, "no such stream"), (503, "warming up"), (200, EMPTY), (200, "garbage"), (200, LIVE)]
    )
    url = await serve_origin(origin)
    calls: list[str] = []

    async def on_live() -> None:
        calls.append("live")

    await probe_until_live(http, url, on_live, interval=0.01)
    assert calls == ["live"]
    assert len(origin.requests) == 5


async def test_a_master_playlist_is_live_once_a_variant_lists_segments(
    serve_origin: ServeOrigin, http: aiohttp.ClientSession
) -> None:
    origin = Origin([(200, MASTER)])
    url = await serve_origin(origin)
    assert not await playlist_has_segments(http, url)  # the variant is still a 404
    origin.variant = (200, EMPTY)
    assert not await playlist_has_segments(http, url)
    origin.variant = (200, LIVE)
    assert await playlist_has_segments(http, url)
    assert origin.requests[-1] == "/live/low/index.m3u8"


async def test_an_unreachable_origin_is_not_live_rather_than_an_error(http: aiohttp.ClientSession) -> None:
    from adapters.redis.local_server import free_port

    assert not await playlist_has_segments(http, f"http://127.0.0.1:{free_port()}/x.m3u8")


async def test_the_detector_announces_a_scheduled_hls_class_once_when_its_stream_starts(
    serve_origin: ServeOrigin, http: aiohttp.ClientSession, store: RedisStore, clock: ManualClock
) -> None:
    origin = Origin([(404, "")])
    url = await serve_origin(origin)
    session = ClassSession(
        "c1",
        "py101",
        "Generators",
        ClassState.SCHEDULED,
        scheduled_at=clock.now() + timedelta(minutes=5),
        stream_url=url,
    )
    await store.classes.save(session)
    await store.classes.save(
        ClassSession(
            "c1",
            "other",
            "Zoom class",
            ClassState.SCHEDULED,
            scheduled_at=clock.now(),
            stream_url="https://zoom.us/j/1",
        )
    )
    announced: list[ClassSession] = []

    async def on_live(s: ClassSession) -> None:
        announced.append(s)
        await store.classes.save(s.go_live(s.stream_url, clock.now()))

    detector = LiveDetector(store.classes, ["py101", "other"], on_live, http, interval=0.01)
    assert await detector.check_once() == []
    origin.answers = [(200, LIVE)]
    assert [s.id for s in await detector.check_once()] == ["c1"]
    assert await detector.check_once() == []  # live now: never announced twice
    assert [s.course_id for s in announced] == ["py101"]
    live = await store.classes.get("py101", "c1")
    assert live is not None
    assert live.state is ClassState.LIVE
    assert all("zoom" not in r for r in origin.requests)  # a Zoom class is never probed


async def test_the_relay_app_runs_detection_in_the_background_and_marks_the_class_live(
    serve_origin: ServeOrigin,
    aiohttp_client: Callable[..., Awaitable[object]],
    store: RedisStore,
    clock: ManualClock,
) -> None:
    import asyncio

    from stream_relay.server import create_app
    from tests.relay.conftest import COURSE, SECRET, relay_config

    origin = Origin([(200, EMPTY), (200, LIVE)])
    url = await serve_origin(origin)
    await store.classes.save(
        ClassSession("c2", COURSE, "Async", ClassState.SCHEDULED, scheduled_at=clock.now(), stream_url=url)
    )
    config = relay_config(live_detection=True, probe_interval="1s")
    await aiohttp_client(create_app(config, store, clock, SECRET))
    for _ in range(300):
        session = await store.classes.get(COURSE, "c2")
        if session is not None and session.state is ClassState.LIVE:
            break
        await asyncio.sleep(0.01)
    assert session is not None
    assert session.state is ClassState.LIVE
    assert session.started_at == clock.now()
