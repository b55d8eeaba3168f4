"""Audiences: a small expression tree in TOML tables, validated with a key path for every mistake.

Written in the config as a condition, a list of conditions (any of them), or a table:

    audience = "hot"                                   # a shorthand (v1): everyone, attended, no_show,
                                                       # hot, warm, cold
    audience = ["hot", "warm"]                         # any of these
    audience = { all = [ { segment = ["hot", "warm"] },
                         { not = { bought = true } },
                         { left_early = 20 } ] }       # and / or (any) / not, nested as deep as needed

Conditions: segment (name or list), score = { min, max } (engagement index, min inclusive, max exclusive),
attendance = "attended" | "no_show", left_early = N (attended but stayed under N minutes), platform,
language (prefix match: "zh" matches "zh-hans"), course (enrolled in any of them), bought (of the
campaign's course), everyone = true.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.config.problems import Invalid

SEGMENTS = ("hot", "warm", "cold")
PLATFORMS = ("telegram", "discord", "web", "console")
_SHORTHANDS = ("everyone", "attended", "no_show", *SEGMENTS)
_KEYS = (
    "all",
    "any",
    "not",
    "segment",
    "score",
    "attendance",
    "left_early",
    "platform",
    "language",
    "course",
    "bought",
    "everyone",
)
_CONDITIONS = ", ".join(_SHORTHANDS)
EXPECTED = f"a condition ({_CONDITIONS}), a list of conditions, or a table with one of: {', '.join(_KEYS)}"


@dataclass(frozen=True, slots=True)
class AllOf:
    parts: tuple[Audience, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple[Audience, ...]


@dataclass(frozen=True, slots=True)
class Not:
    part: Audience


@dataclass(frozen=True, slots=True)
class Everyone:
    pass


@dataclass(frozen=True, slots=True)
class InSegment:
    segments: frozenset[str]


@dataclass(frozen=True, slots=True)
class ScoreRange:
    low: float = 0.0
    high: float = 1.01  # above any index: "max" omitted includes 1.0


@dataclass(frozen=True, slots=True)
class Attendance:
    attended: bool


@dataclass(frozen=True, slots=True)
class LeftEarly:
    minutes: float


@dataclass(frozen=True, slots=True)
class OnPlatform:
    platforms: frozenset[str]


@dataclass(frozen=True, slots=True)
class SpeaksLanguage:
    languages: frozenset[str]


@dataclass(frozen=True, slots=True)
class EnrolledIn:
    courses: frozenset[str]


@dataclass(frozen=True, slots=True)
class Bought:
    bought: bool


Audience = (
    AllOf
    | AnyOf
    | Not
    | Everyone
    | InSegment
    | ScoreRange
    | Attendance
    | LeftEarly
    | OnPlatform
    | SpeaksLanguage
    | EnrolledIn
    | Bought
)

EVERYONE = Everyone()
Path = tuple[str | int, ...]


def _fail(path: Path, message: str, expected: str = "") -> Invalid:
    return Invalid(message, expected, path)


def _words(value: Any, path: Path, allowed: tuple[str, ...] | None, what: str) -> frozenset[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) and i for i in items):
        raise _fail(path, f"wrong type: got {value!r}", f"a {what} or a non-empty list of them")
    if allowed is not None:
        for n, item in enumerate(items):
            if item not in allowed:
                where = (*path, n) if isinstance(value, list) else path
                raise _fail(where, f"{item!r} is not a {what}", f"one of {', '.join(allowed)}")
    return frozenset(items)


def _number(value: Any, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(path, f"wrong type: got {value!r}", "a number")
    return float(value)


def parse_audience(value: Any, path: Path = ()) -> Audience:
    """The audience tree for a config value; raises Invalid whose path points at the mistake."""
    if isinstance(value, Audience):
        return value
    if isinstance(value, str):
        if value == "everyone":
            return EVERYONE
        if value in ("attended", "no_show"):
            return Attendance(value == "attended")
        if value in SEGMENTS:
            return InSegment(frozenset([value]))
        close = difflib.get_close_matches(value, _SHORTHANDS, n=1)
        hint = f"did you mean {close[0]!r}?" if close else EXPECTED
        raise _fail(path, f"unknown audience {value!r}", hint)
    if isinstance(value, list):
        if not value:
            raise _fail(path, "an empty list matches nobody", EXPECTED)
        parts = tuple(parse_audience(v, (*path, n)) for n, v in enumerate(value))
        return parts[0] if len(parts) == 1 else AnyOf(parts)
    if not isinstance(value, Mapping):
        raise _fail(path, f"wrong type: got {value!r}", EXPECTED)
    if len(value) != 1:
        keys = ", ".join(map(str, value)) or "nothing"
        raise _fail(
            path,
            f"a condition table holds exactly one key, this one has {keys}",
            "wrap several in all = [...]",
        )
    ((key, arg),) = value.items()
    here = (*path, key)
    if key in ("all", "any"):
        if not isinstance(arg, list) or not arg:
            raise _fail(here, f"{key} needs a non-empty list of conditions", EXPECTED)
        parts = tuple(parse_audience(v, (*here, n)) for n, v in enumerate(arg))
        return AllOf(parts) if key == "all" else AnyOf(parts)
    if key == "not":
        return Not(parse_audience(arg, here))
    if key == "segment":
        return InSegment(_words(arg, here, SEGMENTS, "segment"))
    if key == "score":
        if not isinstance(arg, Mapping) or not arg or set(arg) - {"min", "max"}:
            raise _fail(
                here, f"wrong value: {arg!r}", "a table with min and/or max, e.g. { min = 0.3, max = 0.65 }"
            )
        low = _number(arg.get("min", 0.0), (*here, "min"))
        high = _number(arg["max"], (*here, "max")) if "max" in arg else 1.01
        if not 0 <= low < high:
            raise _fail(
                here, f"min ({low:g}) must be below max ({high:g}) and not negative", "0 <= min < max"
            )
        return ScoreRange(low, high)
    if key == "attendance":
        if arg not in ("attended", "no_show"):
            raise _fail(here, f"{arg!r} is not allowed", "attended or no_show")
        return Attendance(arg == "attended")
    if key == "left_early":
        minutes = _number(arg, here)
        if minutes <= 0:
            raise _fail(here, f"{minutes:g} minutes matches nobody", "a number of minutes above 0")
        return LeftEarly(minutes)
    if key == "platform":
        return OnPlatform(_words(arg, here, PLATFORMS, "platform"))
    if key == "language":
        return SpeaksLanguage(_words(arg, here, None, "language code"))
    if key == "course":
        return EnrolledIn(_words(arg, here, None, "course id"))
    if key in ("bought", "everyone"):
        if not isinstance(arg, bool):
            raise _fail(here, f"wrong type: got {arg!r}", "true or false")
        if key == "bought":
            return Bought(arg)
        return EVERYONE if arg else Not(EVERYONE)
    close = difflib.get_close_matches(str(key), _KEYS, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"one of: {', '.join(_KEYS)}"
    raise _fail(here, f"unknown condition {key!r}", hint)


def courses_named(audience: Audience) -> set[str]:
    """Every course an audience refers to (for the cross-check and for loading enrolments)."""
    match audience:
        case AllOf(parts) | AnyOf(parts):
            return set().union(*(courses_named(p) for p in parts))
        case Not(part):
            return courses_named(part)
        case EnrolledIn(courses):
            return set(courses)
    return set()


def describe(audience: Audience) -> str:
    """The audience in words, for previews and reports."""
    match audience:
        case AllOf(parts):
            return " and ".join(f"({describe(p)})" if isinstance(p, AnyOf) else describe(p) for p in parts)
        case AnyOf(parts):
            return " or ".join(describe(p) for p in parts)
        case Not(part):
            return f"not {describe(part)}"
        case Everyone():
            return "everyone"
        case InSegment(segments):
            return "/".join(sorted(segments))
        case ScoreRange(low, high):
            return f"score {low:g}–{high:g}" if high <= 1 else f"score ≥ {low:g}"
        case Attendance(attended):
            return "attended" if attended else "no-show"
        case LeftEarly(minutes):
            return f"left within {minutes:g} min"
        case OnPlatform(platforms):
            return "on " + "/".join(sorted(platforms))
        case SpeaksLanguage(languages):
            return "speaks " + "/".join(sorted(languages))
        case EnrolledIn(courses):
            return "enrolled in " + "/".join(sorted(courses))
        case Bought(bought):
            return "bought" if bought else "has not bought"
    raise AssertionError(audience)
