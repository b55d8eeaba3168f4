"""Which streams the watch page can embed, and how: YouTube, Twitch, Vimeo and HLS; anything else is linked.

Embeds use the hosts' privacy modes (youtube-nocookie.com, Vimeo's dnt=1), so the page works in browsers
that block third-party cookies, and sets none of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from urllib.parse import parse_qs, quote, urlsplit


class StreamKind(StrEnum):
    YOUTUBE = "youtube"
    TWITCH = "twitch"
    VIMEO = "vimeo"
    HLS = "hls"
    EXTERNAL = "external"  # Zoom, Google Meet, anything unknown: the learner is redirected there

    @property
    def embeddable(self) -> bool:
        return self is not StreamKind.EXTERNAL


class UnsafeStreamUrl(ValueError):
    """A stream address the relay refuses to send anyone to (not http or https)."""


@dataclass(frozen=True, slots=True)
class Stream:
    kind: StreamKind
    url: str  # the address the teacher gave
    player_url: str = ""  # what the page loads: an iframe address, or the HLS playlist itself

    @property
    def player_origin(self) -> str:
        """scheme://host[:port] of the player, for the page's Content-Security-Policy."""
        parts = urlsplit(self.player_url)
        return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""


_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_YOUTUBE_CHANNEL = re.compile(r"^UC[A-Za-z0-9_-]{22}$")
_TWITCH_CHANNEL = re.compile(r"^[A-Za-z0-9_]{3,25}$")
# First path segments of twitch.tv that are pages of the site, not channels.
_TWITCH_PAGES = frozenset(
    {
        "directory",
        "downloads",
        "jobs",
        "p",
        "search",
        "settings",
        "subscriptions",
        "turbo",
        "videos",
        "wallet",
        "inventory",
        "drops",
        "friends",
        "messages",
        "prime",
    }
)


@lru_cache(maxsize=1024)  # a class has one stream address, asked about on every click
def classify(url: str, parent_host: str) -> Stream:
    """What kind of stream `url` is; `parent_host` is the relay's own host name (Twitch requires it)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeStreamUrl(f"not an http(s) stream address: {url!r}")
    host = parts.hostname.lower().removeprefix("www.").removeprefix("m.")
    segments = [s for s in parts.path.split("/") if s]
    if parts.path.lower().endswith(".m3u8"):
        return Stream(StreamKind.HLS, url, url)
    if host in ("youtube.com", "youtu.be", "youtube-nocookie.com"):
        return _youtube(url, host, segments, parse_qs(parts.query))
    if host == "twitch.tv":
        return _twitch(url, segments, parent_host)
    if host in ("vimeo.com", "player.vimeo.com"):
        return _vimeo(url, segments)
    return Stream(StreamKind.EXTERNAL, url)


def _youtube(url: str, host: str, segments: list[str], query: dict[str, list[str]]) -> Stream:
    video = ""
    if host == "youtu.be" and segments:
        video = segments[0]
    elif segments[:1] == ["watch"]:
        video = query.get("v", [""])[0]
    elif len(segments) >= 2 and segments[0] in ("live", "embed", "shorts"):
        video = segments[1]
    if _YOUTUBE_ID.match(video):
        return Stream(
            StreamKind.YOUTUBE, url, f"https://www.youtube-nocookie.com/embed/{video}?autoplay=1&rel=0"
        )
    if (
        len(segments) >= 3
        and segments[0] == "channel"
        and segments[2] == "live"
        and _YOUTUBE_CHANNEL.match(segments[1])
    ):
        player = f"https://www.youtube-nocookie.com/embed/live_stream?channel={segments[1]}&autoplay=1"
        return Stream(StreamKind.YOUTUBE, url, player)
    return Stream(StreamKind.EXTERNAL, url)


def _twitch(url: str, segments: list[str], parent_host: str) -> Stream:
    parent = quote(parent_host, safe="")
    if len(segments) >= 2 and segments[0] == "videos" and segments[1].isdigit():
        return Stream(
            StreamKind.TWITCH, url, f"https://player.twitch.tv/?video=v{segments[1]}&parent={parent}"
        )
    if len(segments) == 1 and segments[0].lower() not in _TWITCH_PAGES and _TWITCH_CHANNEL.match(segments[0]):
        channel = segments[0].lower()
        return Stream(StreamKind.TWITCH, url, f"https://player.twitch.tv/?channel={channel}&parent={parent}")
    return Stream(StreamKind.EXTERNAL, url)


def _vimeo(url: str, segments: list[str]) -> Stream:
    if len(segments) >= 2 and segments[0] == "event" and segments[1].isdigit():
        return Stream(StreamKind.VIMEO, url, f"https://vimeo.com/event/{segments[1]}/embed?dnt=1")
    if len(segments) >= 2 and segments[0] == "video" and segments[1].isdigit():
        return Stream(StreamKind.VIMEO, url, f"https://player.vimeo.com/video/{segments[1]}?dnt=1")
    if segments and segments[0].isdigit():
        return Stream(StreamKind.VIMEO, url, f"https://player.vimeo.com/video/{segments[0]}?dnt=1")
    return Stream(StreamKind.EXTERNAL, url)
