"""The relay's HTML: the watch page and the page that refuses a bad link (jinja2, autoescaped)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from jinja2 import Environment, PackageLoader, select_autoescape

from bot.config import Config
from bot.domain import FlashOffer
from bot.usecases.offers import offer_label, time_left_text
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


@dataclass(frozen=True, slots=True)
class OfferView:
    """A running flash offer as the watch page shows it."""

    text: str  # plain text (the page escapes it)
    has_link: bool  # the course has a shop to send the learner to


def offer_text(offer: FlashOffer, config: Config, now: datetime) -> str:
    """The same words as the chat's announcement, in plain text: the claim itself happens in the chat."""
    when = time_left_text(offer, now)
    return f"⚡ Flash offer: {offer_label(offer, config)} — {when}. Claim your personal code in the chat."


def watch_page(
    title: str, token: str, stream: Stream | None, interval: timedelta, offer: OfferView | None
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
