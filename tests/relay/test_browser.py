"""The watch page in a real headless Chromium: it plays a local HLS stream with our hls.js, and its heartbeats
count about one per second on the page while it is visible, and stop once it is hidden."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.redis import RedisStore
from bot.clock import SystemClock
from bot.domain import ClassSession, ClassState
from stream_relay.server import RELAY_SERVER, create_app
from tests.relay.conftest import COURSE, SECRET, relay_config

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.browser

HLS_DIR = Path(__file__).parent.parent / "data" / "hls"
CHROMIUM = os.environ.get("CLASSPULSE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# What a sandboxed root needs, and nothing that reaches out to the network on its own.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HIDE_PAGE = """() => {
    Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "hidden"});
    Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
    document.dispatchEvent(new Event("visibilitychange"));
}"""


@pytest.fixture
async def browser_page() -> AsyncIterator[Page]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium (./dev.sh test does it as root)")
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as playwright:
        with tempfile.TemporaryDirectory(prefix="classpulse-chromium-") as profile:
            context = await playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
            )
            try:
                yield await context.new_page()
            finally:
                await context.close()


def _hls_origin() -> web.Application:
    """A stand-in for a streaming CDN on another origin, with the CORS header hls.js needs."""

    @web.middleware
    async def cors(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        response = await handler(request)
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    app = web.Application(middlewares=[cors])
    app.router.add_static("/hls", HLS_DIR)
    return app


async def test_the_watch_page_plays_hls_and_counts_a_heartbeat_per_second_while_visible(
    browser_page: Page,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    store: RedisStore,
) -> None:
    page = browser_page
    origin = await aiohttp_server(_hls_origin())
    clock = SystemClock()
    config = relay_config(heartbeat_interval="1s", live_detection=False)
    relay = await aiohttp_server(create_app(config, store, clock, SECRET))
    session = ClassSession(
        "c1",
        COURSE,
        "Streams in the browser",
        ClassState.LIVE,
        started_at=clock.now(),
        stream_url=str(origin.make_url("/hls/index.m3u8")),
    )
    await store.classes.save(session)
    link = await relay.app[RELAY_SERVER].links.issue(session, "tg-7", clock.now())
    path = link.removeprefix("https://live.example.com")
    heartbeats_sent: list[float] = []
    page.on("request", lambda r: heartbeats_sent.append(time.monotonic()) if r.url.endswith("/hb") else None)

    async def watched() -> int:
        await relay.app[RELAY_SERVER].flushed()
        fields = await store.client.hgetall(store.keys.learner_class(COURSE, "c1", "tg-7"))
        return int(fields.get("watch_s", 0))

    await page.goto(str(relay.make_url(path)))
    shown = time.monotonic()
    assert "/w/" in page.url
    assert await page.title() == "Streams in the browser"
    # hls.js (served by the relay) fetched the playlist from the other origin and the video plays.
    # (Polled from the test: the page's policy forbids the eval that wait_for_function would need.)
    for _ in range(100):
        if await page.evaluate("() => document.querySelector('video').currentTime") > 0.3:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the HLS video never started playing")

    await asyncio.sleep(max(0.0, 4.2 - (time.monotonic() - shown)))
    await page.evaluate(HIDE_PAGE)
    visible_for = time.monotonic() - shown
    await asyncio.sleep(0.5)  # let the final beacon land
    counted = await watched()
    sent_when_hidden = len(heartbeats_sent)

    # About one counted second per second on the page (the first heartbeat comes after one interval, the
    # final beacon counts only if it comes late enough in its interval).
    assert visible_for - 1.5 <= counted <= visible_for + 1, (counted, visible_for)

    await asyncio.sleep(2.0)  # hidden: no more heartbeats, none counted
    assert len(heartbeats_sent) == sent_when_hidden
    assert await watched() == counted
    clicks = await store.client.hget(store.keys.learner_class(COURSE, "c1", "tg-7"), "link_click")
    assert clicks == "1"
