"""The Lua scripts that make multi-key updates atomic."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError


@cache
def lua(name: str) -> str:
    return (files("adapters.redis") / "lua" / f"{name}.lua").read_text(encoding="utf-8")


class PipelinedScript:
    """Calls of one script, many at a time, in exactly one round trip.

    redis-py's Script objects check `SCRIPT EXISTS` before every pipeline, a second round trip on the
    hottest path. Here the pipeline sends EVALSHA directly; only when Redis does not know the script yet
    (first use, or after a restart) is it loaded, and the calls Redis refused for that reason (and only
    those: they never ran) are sent again.
    """

    def __init__(self, client: aioredis.Redis, source: str) -> None:
        self._client = client
        self._source = source
        self._sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    async def _send(self, calls: Sequence[tuple[Sequence[str], Sequence[str]]]) -> list[Any]:
        async with self._client.pipeline(transaction=False) as pipe:
            for keys, args in calls:
                pipe.evalsha(self._sha, len(keys), *keys, *args)
            return list(await pipe.execute(raise_on_error=False))

    async def run(self, calls: Sequence[tuple[Sequence[str], Sequence[str]]]) -> list[Any]:
        results = await self._send(calls)
        refused = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
        if refused:
            await self._client.script_load(self._source)
            for i, result in zip(refused, await self._send([calls[i] for i in refused]), strict=True):
                results[i] = result
        errors = [r for r in results if isinstance(r, Exception)]
        if errors:
            raise errors[0]
        return results
