"""The relay's HTML: the watch page and the page that refuses a bad link (jinja2, autoescaped)."""

from __future__ import annotations

from datetime import timedelta

from jinja2 import Environment, PackageLoader, select_autoescape

from bot.domain import LiveOffer
from stream_relay.hosts import Stream
from stream_relay.tokens import Rejection

_env = Environment(
    loader=PackageLoader("stream_relay", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_HEADINGS = {
    Rejection.EXPIRED: "This link has expired",
    Rejection.UNKNOWN: "This link is no longer valid",
}
# While a class has not started, its watch page reloads itself this often (seconds).
WAITING_REFRESH = 30


def watch_page(
    title: str, token: str, stream: Stream | None, interval: timedelta, offer: LiveOffer | None
) -> str:
    """The page for an embeddable stream, or a waiting page (that reloads itself) before the class is live."""
    return _env.get_template("watch.html").render(
        title=title,
        token=token,
        kind=stream.kind.value if stream else "",
        src=stream.player_url if stream else "",
        interval_ms=int(interval.total_seconds() * 1000),
        offer=offer,
        refresh=0 if stream else WAITING_REFRESH,
    )


def refused_page(reason: Rejection) -> str:
    return _env.get_template("refused.html").render(
        heading=_HEADINGS.get(reason, "This link does not work"), explanation=reason.explanation
    )
