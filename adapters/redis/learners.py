"""Learner profiles and identities: who is who, who opted out, where the bot may write to them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import redis.asyncio as aioredis

from adapters.redis.decoded import opt_str, str_list, str_map
from adapters.redis.keys import Keys
from adapters.redis.scripts import lua
from bot.domain import Identity, Learner, Platform

_SHORT = {Platform.TELEGRAM: "tg", Platform.DISCORD: "dc", Platform.WEB: "web", Platform.CONSOLE: "con"}


def learner_id_for(identity: Identity) -> str:
    """The id a learner gets when first seen: readable, and stable across restarts."""
    return f"{_SHORT[identity.platform]}-{identity.user_id}"


def _platforms(value: str | None) -> frozenset[Platform]:
    return frozenset(Platform(p) for p in (value or "").split() if p)


def _learner(learner_id: str, fields: dict[str, str]) -> Learner:
    last = fields.get("last_platform")
    return Learner(
        id=learner_id,
        name=fields.get("name", ""),
        language=fields.get("language", ""),
        identities=tuple(Identity.parse(k) for k in fields.get("identities", "").split() if k),
        opted_out=fields.get("opted_out") == "1",
        reachable=_platforms(fields.get("reachable")),
        unreachable=_platforms(fields.get("unreachable")),
        last_platform=Platform(last) if last else None,
        timezone=fields.get("timezone", ""),
        aliases=tuple(fields.get("aliases", "").split()),
    )


class RedisLearners:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._client = client
        self._keys = keys
        self._resolve = client.register_script(lua("resolve"))
        self._merge = client.register_script(lua("merge_learner"))

    async def resolve(self, identity: Identity, name: str = "", language: str = "") -> str:
        return (await self.resolve_many([(identity, name, language)]))[0]

    async def resolve_many(self, people: Sequence[tuple[Identity, str, str]]) -> list[str]:
        """Learner ids for identities, creating learners on first sight; one round trip."""
        if not people:
            return []
        args: list[str] = [self._keys.learner("")]
        for identity, name, language in people:
            args += [identity.key, learner_id_for(identity), name, language]
        ids = await self._resolve(keys=[self._keys.identities()], args=args)
        return [str(i) for i in ids]

    async def get(self, learner_id: str) -> Learner | None:
        fields = str_map(await self._client.hgetall(self._keys.learner(learner_id)))
        return _learner(learner_id, fields) if fields and "merged_into" not in fields else None

    async def merge(self, keep: str, absorb: str) -> None:
        """Make `absorb` an alias of `keep`: its identities resolve to `keep` from now on."""
        await self._merge(keys=[self._keys.identities()], args=[self._keys.learner(""), keep, absorb])

    async def create_link_code(self, identity: Identity, code: str, ttl: timedelta) -> None:
        await self._client.set(self._keys.link_code(code), identity.key, ex=int(ttl.total_seconds()))

    async def take_link_code(self, code: str) -> Identity | None:
        """The identity that asked for `code`; a code works once."""
        raw = opt_str(await self._client.getdel(self._keys.link_code(code)))
        return Identity.parse(raw) if raw else None

    async def get_many(self, learner_ids: Sequence[str]) -> dict[str, Learner]:
        async with self._client.pipeline(transaction=False) as pipe:
            for learner_id in learner_ids:
                pipe.hgetall(self._keys.learner(learner_id))
            rows = await pipe.execute()
        return {lid: _learner(lid, row) for lid, row in zip(learner_ids, rows, strict=True) if row}

    async def set_opted_out(self, learner_id: str, opted_out: bool) -> bool:
        """Set the flag; True when it changed."""
        old = await self._client.hget(self._keys.learner(learner_id), "opted_out")
        await self._client.hset(self._keys.learner(learner_id), "opted_out", "1" if opted_out else "0")
        return (old == "1") != opted_out

    async def mark_reachable(self, learner_id: str, platform: Platform) -> None:
        await self._edit_platforms(
            learner_id, add_to="reachable", remove_from="unreachable", platform=platform
        )

    async def mark_unreachable(self, learner_id: str, platform: Platform, reason: str) -> None:
        await self._edit_platforms(
            learner_id, add_to="unreachable", remove_from="reachable", platform=platform
        )
        await self._client.hset(
            self._keys.learner(learner_id), f"unreachable_reason:{platform.value}", reason
        )

    async def set_timezone(self, learner_id: str, timezone: str) -> None:
        """The learner's own IANA time zone (checked by the caller); "" falls back to the course's."""
        await self._client.hset(self._keys.learner(learner_id), "timezone", timezone)

    async def _edit_platforms(
        self, learner_id: str, add_to: str, remove_from: str, platform: Platform
    ) -> None:
        key = self._keys.learner(learner_id)
        # WATCH/MULTI keeps two concurrent edits of the same learner from losing one another.
        async with self._client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    current = str_list(await pipe.hmget(key, [add_to, remove_from]))
                    adds = set((current[0] or "").split()) | {platform.value}
                    removes = set((current[1] or "").split()) - {platform.value}
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(
                        key, mapping={add_to: " ".join(sorted(adds)), remove_from: " ".join(sorted(removes))}
                    )
                    await pipe.execute()
                    return
                except aioredis.WatchError:
                    continue

    async def restore(self, learner: Learner) -> None:
        """Write a learner as recorded elsewhere (a replay): identities, profile and flags, as they were."""
        profile = self._keys.learner(learner.id)
        async with self._client.pipeline(transaction=True) as pipe:
            for identity in learner.identities:
                pipe.hset(self._keys.identities(), identity.key, learner.id)
            pipe.hset(
                profile,
                mapping={
                    "identities": " ".join(i.key for i in learner.identities),
                    "name": learner.name,
                    "language": learner.language,
                    "timezone": learner.timezone,
                    "opted_out": "1" if learner.opted_out else "0",
                    "reachable": " ".join(sorted(p.value for p in learner.reachable)),
                    "unreachable": " ".join(sorted(p.value for p in learner.unreachable)),
                },
            )
            await pipe.execute()
