"""Flash offers as learners and teachers see them: the announcement and its countdown."""

from __future__ import annotations

from datetime import datetime

from bot import formatting
from bot.config import Config
from bot.domain import FlashOffer


def offer_label(offer: FlashOffer, config: Config) -> str:
    pool = config.coupons.get(offer.pool)
    course = config.courses[offer.course_id]
    if pool is None:
        return f"a special price on {course.name}"
    if pool.kind == "percent":
        return f"{pool.value:g}% off {course.name}"
    return f"{pool.value:g} {pool.currency or course.currency} off {course.name}"


def time_left_text(offer: FlashOffer, now: datetime) -> str:
    """'12 min left', '1 min left', '45 s left': what every countdown of an offer shows."""
    left = offer.seconds_left(now)
    return f"{left // 60} min left" if left >= 120 else "1 min left" if left >= 60 else f"{left} s left"


def flash_offer_text(offer: FlashOffer, config: Config, now: datetime) -> str:
    """The announcement, with the time left; adapters re-render it to keep the countdown current."""
    label = formatting.bold(offer_label(offer, config))
    if not offer.running(now):
        return f"⚡ The flash offer ({label}) has ended. Thanks to everyone who claimed it!"
    when = time_left_text(offer, now)
    return f"⚡ Flash offer: {label} — {when}. Press the button to get your personal code."
