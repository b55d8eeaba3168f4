"""Live detection for HLS streams: notice when a class's playlist starts listing segments.

Before a stream starts, its playlist is typically missing (404), empty (just `#EXTM3U`), or a master
playlist whose variants are not there yet; servers also answer 5xx or time out while the encoder connects.
All of these mean "not live yet", never an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp

from bot.domain import ClassSession, ClassState
from bot.ports import Classes

log = logging.getLogger(__name__)

# Playlists are small text files; anything bigger is not one, and is not read further.
MAX_PLAYLIST_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Playlist:
    segments: tuple[str, ...] = ()  # media playlist: segment URIs
    variants: tuple[str, ...] = ()  # master playlist: variant playlist URIs


def parse_playlist(text: str) -> Playlist:
    """The segment and variant URIs of an M3U8 text; an empty Playlist for anything that is not one."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("#EXTM3U"):
        return Playlist()
    segments: list[str] = []
    variants: list[str] = []
    expecting: list[str] | None = None  # where the next URI line belongs
    for line in lines[1:]:
        if line.startswith("#EXTINF"):
            expecting = segments
        elif line.startswith("#EXT-X-STREAM-INF"):
            expecting = variants
        elif not line.startswith("#") and expecting is not None:
            expecting.append(line)
            expecting = None
    return Playlist(tuple(segments), tuple(variants))


def is_hls(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(".m3u8")


async def _fetch(http: aiohttp.ClientSession, url: str) -> str | None:
    try:
        async with http.get(url, allow_redirects=True) as response:
            if response.status != 200:
                return None
            body = await response.content.read(MAX_PLAYLIST_BYTES + 1)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.debug("live detection: %s: %s", url, type(exc).__name__)
        return None
    if len(body) > MAX_PLAYLIST_BYTES:
        return None
    return body.decode("utf-8", errors="replace")


async def playlist_has_segments(http: aiohttp.ClientSession, url: str) -> bool:
    """True when the playlist at `url` (or, for a master playlist, one of its variants) lists a segment."""
    text = await _fetch(http, url)
    if text is None:
        return False
    playlist = parse_playlist(text)
    if playlist.segments:
        return True
    for variant in playlist.variants:
        nested = await _fetch(http, urljoin(url, variant))
        if nested is not None and parse_playlist(nested).segments:
            return True
    return False


async def probe_until_live(
    http: aiohttp.ClientSession, url: str, on_live: Callable[[], Awaitable[None]], interval: float
) -> None:
    """Probe `url` every `interval` seconds until it serves segments, then call `on_live` once and return."""
    while not await playlist_has_segments(http, url):  # noqa: ASYNC110 - polling a remote server, no event to wait on
        await asyncio.sleep(interval)
    await on_live()


class LiveDetector:
    """Watches the courses' upcoming classes that have an HLS stream address and calls `on_live` once for
    each whose playlist starts serving segments (the call is expected to make the class live)."""

    def __init__(
        self,
        classes: Classes,
        course_ids: Sequence[str],
        on_live: Callable[[ClassSession], Awaitable[None]],
        http: aiohttp.ClientSession,
        interval: float,
    ) -> None:
        self._classes = classes
        self._course_ids = tuple(course_ids)
        self._on_live = on_live
        self._http = http
        self._interval = interval
        self._announced: set[tuple[str, str]] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="relay-live-detection")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def check_once(self) -> list[ClassSession]:
        """One round over the courses; the sessions announced live in it."""
        announced: list[ClassSession] = []
        for course_id in self._course_ids:
            session = await self._classes.current(course_id)
            if session is None or session.state is not ClassState.SCHEDULED or not is_hls(session.stream_url):
                continue
            key = (session.course_id, session.id)
            if key in self._announced or not await playlist_has_segments(self._http, session.stream_url):
                continue
            await self._on_live(session)
            self._announced.add(key)
            announced.append(session)
            log.info("live detection: %s/%s is live", session.course_id, session.id)
        return announced

    async def _run(self) -> None:
        while True:
            try:
                await self.check_once()
            except Exception:
                # A store hiccup must not end detection for the rest of the process's life.
                log.exception("live detection: a round failed; trying again in %.0fs", self._interval)
            await asyncio.sleep(self._interval)
