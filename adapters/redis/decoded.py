"""Types for replies of a client opened with decode_responses=True.

redis-py types every reply as `bytes | str`; ours are always `str` because every client ClassPulse opens
decodes responses (see connection.py). These casts state that once instead of at every call site.
"""

from __future__ import annotations

from typing import Any, cast


def str_map(reply: Any) -> dict[str, str]:
    return cast(dict[str, str], reply)


def str_list(reply: Any) -> list[str]:
    return cast(list[str], reply)


def str_set(reply: Any) -> set[str]:
    return cast(set[str], reply)


def opt_str(reply: Any) -> str | None:
    return cast(str | None, reply)
