"""Redis commands packed by hiredis (C) instead of redis-py's asyncio client's pure-Python packer.

redis-py's sync client already packs with hiredis when it is installed; its asyncio client does not. On the
relay's hot path (a few hundred arguments per batched script call) packing was the largest single cost in a
profile, and hiredis cut the server's CPU per heartbeat by about a fifth (bench/relay.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import redis.asyncio as aioredis
from redis.connection import HiredisRespSerializer
from redis.utils import HIREDIS_AVAILABLE


class HiredisPackingConnection(aioredis.Connection):
    """A TCP connection whose commands hiredis packs (the same serializer the sync client uses)."""

    _serializer = HiredisRespSerializer()

    def pack_command(self, *args: Any) -> list[bytes]:
        packed: list[bytes] = self._serializer.pack(*args)
        return packed

    def pack_commands(self, commands: Iterable[Iterable[Any]]) -> list[bytes]:
        return [b"".join(chunk for command in commands for chunk in self._serializer.pack(*command))]


# Only where hiredis is there to pack; without it, redis-py's own packer is the right one.
CONNECTION_CLASS: type[aioredis.Connection] | None = HiredisPackingConnection if HIREDIS_AVAILABLE else None
