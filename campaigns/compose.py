"""Personalised message text: the step's (or its variant's) template in the learner's language, filled in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import templates
from bot.config import CourseConfig, StepConfig
from bot.domain import ClassSession, Coupon, Learner, LearnerScore


def local_time(when: datetime | None, tz: ZoneInfo) -> str:
    if when is None:
        return ""
    return f"{when.astimezone(tz):%a %d %b %H:%M} ({tz.key})"


def learner_zone(learner: Learner | None, course: CourseConfig) -> ZoneInfo:
    """The learner's own time zone when they have a valid one, else the course's."""
    if learner is not None and learner.timezone:
        try:
            return ZoneInfo(learner.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return course.timezone


def pick_text(texts: Mapping[str, str], language: str, course_language: str) -> str:
    """The template for the learner's language, else the course's, else the default, else any."""
    for key in (language, language.split("-", maxsplit=1)[0], course_language, "default"):
        if key and key in texts:
            return texts[key]
    return next(iter(texts.values()))


def step_texts(step: StepConfig, variant: str) -> Mapping[str, str]:
    chosen = step.variant(variant)
    return chosen.text if chosen is not None and chosen.text else step.text


def context(
    course: CourseConfig,
    session: ClassSession,
    learner: Learner | None,
    link: str,
    coupon: Coupon | None = None,
    score: LearnerScore | None = None,
    watched_minutes: float = 0.0,
    buy_link: str = "",
) -> dict[str, Any]:
    tz = learner_zone(learner, course)
    return {
        "name": learner.display_name if learner else "everyone",
        "course": course.name,
        "class_title": session.title,
        "class_time": local_time(session.scheduled_at or session.started_at, tz),
        "link": link or session.stream_url,
        "stream_url": session.stream_url,
        "replay_url": course.replay_url,
        "buy_url": course.buy_url,
        "buy_link": buy_link or course.buy_url,
        "price": f"{course.price:g} {course.currency}",
        "coupon": coupon.code if coupon else "",
        "coupon_label": coupon.label if coupon else "",
        "deadline": local_time(coupon.expires_at, tz) if coupon else "",
        "segment": score.segment.value if score else "",
        "watched_minutes": round(watched_minutes),
        "class_minutes": round(session.minutes),
    }


def render_step(
    step: StepConfig, course: CourseConfig, language: str, values: Mapping[str, Any], variant: str = ""
) -> str:
    return templates.render(pick_text(step_texts(step, variant), language, course.language), values)
