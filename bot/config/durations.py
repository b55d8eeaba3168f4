"""Human durations in config and commands: "90s", "10m", "1h30m", "2d", "1w"."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)")
_WHOLE = re.compile(r"^(?:\s*\d+(?:\.\d+)?\s*[wdhms])+\s*$")

DURATION_EXAMPLES = "a duration such as 90s, 10m, 1h30m, 2d or 1w"


def parse_duration(text: str) -> timedelta:
    """Parse a duration; raise ValueError with a message fit for a user on anything else."""
    cleaned = text.strip().lower()
    if not cleaned or not _WHOLE.match(cleaned):
        raise ValueError(f"cannot read {text!r} as a duration")
    seconds = sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(cleaned))
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest form parse_duration reads back: 5400 s -> "1h30m"."""
    total = int(delta.total_seconds())
    if total == 0:
        return "0s"
    sign, total = ("-", -total) if total < 0 else ("", total)
    parts = []
    for unit in ("d", "h", "m", "s"):
        size = _UNITS[unit]
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return sign + "".join(parts)
