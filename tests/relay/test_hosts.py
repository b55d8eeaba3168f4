"""Which stream addresses the watch page embeds (and through which privacy-friendly player), and which it
sends the learner to instead."""

from __future__ import annotations

import pytest

from stream_relay.hosts import StreamKind, UnsafeStreamUrl, classify

K = StreamKind


@pytest.mark.parametrize(
    ("url", "kind", "player"),
    [
        (
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=3",
            K.YOUTUBE,
            "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?autoplay=1&rel=0",
        ),
        (
            "https://youtu.be/dQw4w9WgXcQ",
            K.YOUTUBE,
            "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?autoplay=1&rel=0",
        ),
        (
            "https://m.youtube.com/live/dQw4w9WgXcQ?feature=share",
            K.YOUTUBE,
            "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?autoplay=1&rel=0",
        ),
        (
            "https://www.youtube.com/channel/UCabcdefghijklmnopqrstuv/live",
            K.YOUTUBE,
            "https://www.youtube-nocookie.com/embed/live_stream?channel=UCabcdefghijklmnopqrstuv&autoplay=1",
        ),
        (
            "https://www.twitch.tv/SomeTeacher",
            K.TWITCH,
            "https://player.twitch.tv/?channel=someteacher&parent=live.example.com",
        ),
        (
            "https://twitch.tv/videos/123456",
            K.TWITCH,
            "https://player.twitch.tv/?video=v123456&parent=live.example.com",
        ),
        ("https://vimeo.com/76979871", K.VIMEO, "https://player.vimeo.com/video/76979871?dnt=1"),
        ("https://vimeo.com/event/42", K.VIMEO, "https://vimeo.com/event/42/embed?dnt=1"),
        (
            "https://cdn.example.net/live/class.m3u8?token=abc",
            K.HLS,
            "https://cdn.example.net/live/class.m3u8?token=abc",
        ),
        ("http://127.0.0.1:9000/hls/INDEX.M3U8", K.HLS, "http://127.0.0.1:9000/hls/INDEX.M3U8"),
    ],
)
def test_embeddable_streams_get_their_player(url: str, kind: StreamKind, player: str) -> None:
    stream = classify(url, "live.example.com")
    assert (stream.kind, stream.player_url) == (kind, player)
    assert stream.kind.embeddable


@pytest.mark.parametrize(
    "url",
    [
        "https://us02web.zoom.us/j/85012345678?pwd=abc",
        "https://meet.google.com/abc-defg-hij",
        "https://www.youtube.com/@someteacher/live",  # a handle, not a video: YouTube resolves it, we cannot
        "https://www.twitch.tv/directory",
        "https://vimeo.com/channels/staffpicks",
        "https://example.org/class",
    ],
)
def test_other_hosts_are_linked_not_embedded(url: str) -> None:
    stream = classify(url, "live.example.com")
    assert stream.kind is StreamKind.EXTERNAL
    assert not stream.kind.embeddable
    assert stream.url == url


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://example.org/x.m3u8", "data:text/html,hi", "//x.org"]
)
def test_non_http_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeStreamUrl):
        classify(url, "live.example.com")


def test_the_player_origin_is_what_the_page_policy_allows() -> None:
    assert classify("https://youtu.be/dQw4w9WgXcQ", "h").player_origin == "https://www.youtube-nocookie.com"
    assert classify("http://127.0.0.1:9000/a.m3u8", "h").player_origin == "http://127.0.0.1:9000"
