"""Annotated field types shared by the config schema: durations, time zones, identifiers."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer

from bot.config.durations import DURATION_EXAMPLES, format_duration, parse_duration
from bot.config.problems import Invalid


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise Invalid(f"wrong type: got {type(value).__name__} {value!r}", f"{DURATION_EXAMPLES}, in quotes")
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise Invalid(str(exc), DURATION_EXAMPLES) from None


def _timezone(value: Any) -> ZoneInfo:
    if isinstance(value, ZoneInfo):
        return value
    if not isinstance(value, str):
        raise Invalid(
            f"wrong type: got {type(value).__name__}", "an IANA time zone name such as Europe/London"
        )
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        import difflib

        close = difflib.get_close_matches(value, sorted(available_timezones()), n=1)
        hint = f"did you mean {close[0]!r}?" if close else "an IANA time zone name such as Europe/London"
        raise Invalid(f"unknown time zone {value!r}", hint) from None


Duration = Annotated[timedelta, BeforeValidator(_duration), PlainSerializer(format_duration)]
TimeZone = Annotated[ZoneInfo, BeforeValidator(_timezone), PlainSerializer(str)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
SLUG_EXPECTED = "lower-case letters, digits, - and _, at most 40 characters, e.g. python101"


def matching(pattern: str, expected: str) -> AfterValidator:
    # Own messages rather than `Field(pattern=...)`, so an admin reads what a valid value looks like.
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise Invalid(f"{value!r} is not valid", expected)
        return value

    return AfterValidator(check)


# Where a secret comes from: the configuration names the variable, never holds the value.
EnvName = Annotated[
    str, matching(r"[A-Za-z_][A-Za-z0-9_]*", "the name of an environment variable, e.g. MY_TOKEN")
]
