"""Who a campaign step is for, and how to reach them."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config.audience import (
    AllOf,
    AnyOf,
    Attendance,
    Audience,
    Bought,
    EnrolledIn,
    Everyone,
    InSegment,
    LeftEarly,
    Not,
    OnPlatform,
    ScoreRange,
    SpeaksLanguage,
)
from bot.domain import Learner, LearnerScore, Platform


@dataclass(frozen=True, slots=True)
class Facts:
    """What an audience may ask about one learner, in the class the step is about (if any)."""

    score: LearnerScore | None = None
    attended: bool = False
    stayed_minutes: float = 0.0  # watch time, or the span between first and last sighting, the larger
    platforms: frozenset[str] = frozenset()
    language: str = ""
    courses: frozenset[str] = field(default_factory=frozenset)
    bought: bool = False


def stayed_minutes(counters: dict[str, str]) -> float:
    """How long a learner was in a class, from its counters (`watch_s`, `first_ts`, `last_ts` in ms)."""
    watched = float(counters.get("watch_s", 0)) / 60
    first, last = counters.get("first_ts"), counters.get("last_ts")
    span = (int(last) - int(first)) / 60_000 if first and last else 0.0
    return max(watched, span)


def facts_for(
    learner: Learner,
    score: LearnerScore | None,
    counters: dict[str, str] | None,
    courses: frozenset[str],
    bought: bool,
) -> Facts:
    return Facts(
        score=score,
        attended=bool(counters),
        stayed_minutes=stayed_minutes(counters) if counters else 0.0,
        platforms=frozenset(i.platform.value for i in learner.identities),
        language=learner.language,
        courses=courses,
        bought=bought,
    )


def matches(audience: Audience, facts: Facts) -> bool:
    match audience:
        case AllOf(parts):
            return all(matches(p, facts) for p in parts)
        case AnyOf(parts):
            return any(matches(p, facts) for p in parts)
        case Not(part):
            return not matches(part, facts)
        case Everyone():
            return True
        case InSegment(segments):
            return facts.score is not None and facts.score.segment.value in segments
        case ScoreRange(low, high):
            return facts.score is not None and low <= facts.score.index < high
        case Attendance(attended):
            return facts.attended == attended
        case LeftEarly(minutes):
            return facts.attended and facts.stayed_minutes < minutes
        case OnPlatform(platforms):
            return bool(facts.platforms & platforms)
        case SpeaksLanguage(languages):
            language = facts.language.lower()
            return any(language == lang or language.startswith(f"{lang}-") for lang in languages)
        case EnrolledIn(courses):
            return bool(facts.courses & courses)
        case Bought(bought):
            return facts.bought == bought
    raise AssertionError(audience)


def private_route(learner: Learner, last_platform: str | None) -> tuple[Platform, str] | None:
    """The platform and chat to write to the learner privately: where they were last active, if possible.

    Telegram allows it only after the learner started the bot; any platform that refused for good
    (blocked, closed DMs) is skipped.
    """
    identities = sorted(learner.identities, key=lambda i: i.platform.value != last_platform)
    for identity in identities:
        platform = identity.platform
        if platform in learner.unreachable or platform is Platform.WEB:
            continue
        if platform is Platform.TELEGRAM and platform not in learner.reachable:
            continue
        return platform, identity.user_id
    return None
