"""Discord snowflakes: 64-bit ids whose top 42 bits are milliseconds since the Discord epoch."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

DISCORD_EPOCH_MS = 1_420_070_400_000
_sequence = itertools.count()


def snowflake(at: datetime | None = None) -> int:
    """A fresh id created at `at` (now by default); ids made in the same millisecond stay unique."""
    when = at or datetime.now(UTC)
    ms = int(when.timestamp() * 1000) - DISCORD_EPOCH_MS
    return (ms << 22) | (next(_sequence) % (1 << 22))


def created_at(snowflake_id: int) -> datetime:
    return datetime.fromtimestamp(((snowflake_id >> 22) + DISCORD_EPOCH_MS) / 1000, UTC)
