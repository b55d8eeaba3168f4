"""Command arguments, parsed once for every platform; bad arguments answer with usage help."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from bot.config.durations import parse_duration
from bot.domain.errors import DomainError


@dataclass(frozen=True, slots=True)
class Usage:
    command: str
    arguments: str
    example: str
    explanation: str = ""


USAGES = {
    "schedule": Usage(
        "schedule",
        "<when> <title>",
        "tomorrow 19:00 Decorators in depth",
        "when: 2026-11-24 19:00, today 19:00, fri 18:30, 19:00, in 2h (course time zone). End the title "
        "with the stream's address and an HLS stream is announced as soon as it starts.",
    ),
    "live": Usage("live", "<stream url> [title]", "https://youtube.com/live/abc Decorators"),
    "end": Usage("end", "", ""),
    "stats": Usage("stats", "", ""),
    "hot": Usage("hot", "[how many, 1-50]", "10"),
    "why": Usage("why", "<learner name or id>", "Ada"),
    "poll": Usage("poll", "<question> | <option> | <option> ...", "Which topic next? | Generators | Async"),
    "offer": Usage("offer", "<coupon pool> [minutes]", "hot-48h 15"),
}


class UsageError(DomainError):
    """Bad arguments: `detail` says what was wrong; adapters add the usage line in their own syntax."""

    def __init__(self, command: str, detail: str) -> None:
        self.usage = USAGES[command]
        self.detail = detail
        super().__init__(f"{detail}\nUsage: /{command} {self.usage.arguments}".rstrip())

    def help_text(self, prefix: str = "/") -> str:
        usage = self.usage
        lines = [self.detail, f"Usage: {prefix}{usage.command} {usage.arguments}".rstrip()]
        if usage.example:
            lines.append(f"Example: {prefix}{usage.command} {usage.example}")
        if usage.explanation:
            lines.append(usage.explanation)
        return "\n".join(lines)


_WEEKDAYS = {
    name: i
    for i, names in enumerate(
        [
            ("mon", "monday"),
            ("tue", "tuesday"),
            ("wed", "wednesday"),
            ("thu", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        ]
    )
    for name in names
}
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")


def _clock_time(token: str) -> time | None:
    match = _TIME.match(token)
    return time(int(match.group(1)), int(match.group(2))) if match else None


def _at(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)


def _parse_when(tokens: list[str], tz: ZoneInfo, now: datetime) -> tuple[datetime, int] | None:
    """A start time from the first one or two tokens, and how many tokens it used."""
    local_now = now.astimezone(tz)
    first = tokens[0].lower()
    second = tokens[1].lower() if len(tokens) > 1 else ""
    if first in ("in", "+") and second:
        try:
            return now + parse_duration(second), 2
        except ValueError:
            return None
    if first.startswith("+"):
        try:
            return now + parse_duration(first[1:]), 1
        except ValueError:
            return None
    at = _clock_time(second)
    if at is not None:
        if first == "today":
            return _at(local_now.date(), at, tz), 2
        if first == "tomorrow":
            return _at(local_now.date() + timedelta(days=1), at, tz), 2
        if first in _WEEKDAYS:
            ahead = (_WEEKDAYS[first] - local_now.weekday()) % 7
            candidate = _at(local_now.date() + timedelta(days=ahead), at, tz)
            return (candidate if candidate > now else candidate + timedelta(days=7)), 2
        try:
            return _at(date.fromisoformat(first), at, tz), 2
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(tokens[0])
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)), 1
    except ValueError:
        pass
    at = _clock_time(first)
    if at is not None:
        candidate = _at(local_now.date(), at, tz)
        return (candidate if candidate > now else candidate + timedelta(days=1)), 1
    return None


def parse_schedule(args: str, tz: ZoneInfo, now: datetime) -> tuple[datetime, str]:
    tokens = args.split()
    if not tokens:
        raise UsageError("schedule", "Say when the class starts and what it is called.")
    parsed = _parse_when(tokens, tz, now)
    if parsed is None:
        raise UsageError("schedule", f"I cannot read {' '.join(tokens[:2])!r} as a time.")
    when, used = parsed
    title = " ".join(tokens[used:]).strip()
    if not title:
        raise UsageError("schedule", "The class needs a title after the time.")
    if when <= now:
        raise UsageError("schedule", f"{when.astimezone(tz):%a %d %b %H:%M} has already passed.")
    if len(title) > 200:
        raise UsageError("schedule", "The title is longer than 200 characters.")
    return when, title


def split_stream_url(title: str) -> tuple[str, str]:
    """A class title may end with its stream's address (the relay then detects when an HLS stream starts)."""
    head, _, last = title.rpartition(" ")
    if head and urlparse(last).scheme in ("http", "https") and urlparse(last).netloc:
        return head.strip(), last
    return title, ""


def parse_url(url: str, command: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise UsageError(command, f"{url!r} is not a web address (it must start with https://).")
    return url


def parse_live(args: str) -> tuple[str, str]:
    tokens = args.split(maxsplit=1)
    if not tokens:
        raise UsageError("live", "Give the stream's address.")
    url = parse_url(tokens[0], "live")
    return url, tokens[1].strip() if len(tokens) > 1 else ""


def parse_count(args: str, command: str, default: int, low: int = 1, high: int = 50) -> int:
    text = args.strip()
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise UsageError(command, f"{text!r} is not a number from {low} to {high}.")
    return int(text)


POLL_QUESTION_MAX = 300
POLL_OPTION_MAX = 100


def parse_poll(args: str) -> tuple[str, list[str]]:
    parts = [p.strip() for p in args.split("|")]
    if len(parts) < 3 or not all(parts):
        raise UsageError("poll", "A poll needs a question and at least two options, separated by |.")
    if len(parts) > 11:
        raise UsageError("poll", "A poll can have at most 10 options.")
    # Telegram's limits (Discord's are stricter for options, and its slash command enforces them itself).
    if len(parts[0]) > POLL_QUESTION_MAX:
        raise UsageError("poll", f"The question is {len(parts[0])} characters; at most {POLL_QUESTION_MAX}.")
    if too_long := [option for option in parts[1:] if len(option) > POLL_OPTION_MAX]:
        raise UsageError(
            "poll", f"Options have at most {POLL_OPTION_MAX} characters; {too_long[0][:20]!r}… is longer."
        )
    return parts[0], parts[1:]


def parse_offer(args: str, pools: list[str]) -> tuple[str, int]:
    tokens = args.split()
    if not tokens:
        raise UsageError("offer", f"Name a coupon pool: {', '.join(pools) or 'none is configured'}.")
    if tokens[0] not in pools:
        raise UsageError(
            "offer", f"There is no coupon pool {tokens[0]!r}; known: {', '.join(pools) or 'none'}."
        )
    minutes = parse_count(" ".join(tokens[1:2]), "offer", default=15, low=1, high=240)
    return tokens[0], minutes
