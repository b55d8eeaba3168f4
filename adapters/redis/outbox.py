"""The durable outbox: a Redis Stream read by dispatchers in a consumer group, plus delivery records.

Every message carries an idempotency key; a key is enqueued at most once and sent at most once. When a
dispatcher dies in the middle of a send, the message's fate is unknown and it is dead-lettered rather than
sent again: a learner may miss one message, but never gets it twice.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import NamedTuple, cast

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from adapters.redis.decoded import str_map
from adapters.redis.keys import Keys
from adapters.redis.scripts import PipelinedScript, lua
from bot.batching import MicroBatcher
from bot.domain import Button, OutboundMessage, Platform
from bot.ports import CapCheck, Envelope, Touch

GROUP = "dispatch"  # outbox_hold.lua names it too
# Outcomes whose reason is worth counting apart (a guard's or the platform's).
GUARDED = frozenset({"suppressed", "capped", "dropped", "unreachable", "dead"})


def encode(message: OutboundMessage, attempts: int = 0) -> str:
    data = asdict(message)
    data["platform"] = message.platform.value
    data["buttons"] = [asdict(b) for b in message.buttons]
    data["_attempts"] = attempts
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def decode(raw: str) -> tuple[OutboundMessage, int]:
    data = json.loads(raw)
    attempts = int(data.pop("_attempts", 0))
    data["platform"] = Platform(data["platform"])
    data["buttons"] = tuple(Button(**b) for b in data["buttons"])
    return OutboundMessage(**data), attempts


def _ms(at: datetime) -> str:
    return str(int(at.timestamp() * 1000))


class _Finish(NamedTuple):
    envelope: Envelope
    status: str
    now: datetime
    message_id: str
    reason: str


class RedisOutbox:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._client = client
        self._keys = keys
        self._p = keys.outbox()
        self._stream = keys.outbox_stream()
        self._enqueue = client.register_script(lua("outbox_enqueue"))
        # Claims and finishes of messages sent at the same time share round trips (group commit).
        self._claim = PipelinedScript(client, lua("outbox_claim"))
        self._claims: MicroBatcher[list[str], str] = MicroBatcher(
            self._claim_many, max_size=500, in_flight=2, name="outbox claims"
        )
        self._finishes: MicroBatcher[_Finish, None] = MicroBatcher(
            self._finish_many, max_size=500, in_flight=2, name="outbox finishes"
        )
        self._promote = client.register_script(lua("outbox_promote"))
        self._hold = client.register_script(lua("outbox_hold"))
        self._group_ready = False

    async def ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._client.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def enqueue(
        self, messages: Sequence[OutboundMessage], now: datetime, due: Mapping[str, datetime] | None = None
    ) -> int:
        """Add messages whose key was never enqueued before; returns how many were new.

        A message whose key has a `due` time later than `now` waits in the deferred set until then.
        """
        if not messages:
            return 0
        args: list[str] = [_ms(now)]
        for message in messages:
            when = (due or {}).get(message.key)
            args += [message.key, encode(message), _ms(when) if when else ""]
        return int(await self._enqueue(keys=[self._p], args=args))

    async def read(self, consumer: str, count: int, block_ms: int | None = None) -> list[Envelope]:
        await self.ensure_group()
        # RESP2 reply: [(stream, [(entry id, fields), ...])], or None when BLOCK timed out.
        reply = cast(
            list[tuple[str, list[tuple[str, dict[str, str]]]]] | None,
            await self._client.xreadgroup(GROUP, consumer, {self._stream: ">"}, count=count, block=block_ms),
        )
        return [
            self._envelope(entry_id, fields) for _, entries in reply or [] for entry_id, fields in entries
        ]

    async def reclaim(self, consumer: str, min_idle_ms: int, count: int) -> list[Envelope]:
        """Take over entries another dispatcher read but never finished (it died)."""
        await self.ensure_group()
        reply = await self._client.xautoclaim(self._stream, GROUP, consumer, min_idle_ms, "0-0", count=count)
        entries: list[tuple[str, dict[str, str]]] = reply[1]
        return [self._envelope(entry_id, fields) for entry_id, fields in entries if fields]

    def _envelope(self, entry_id: str, fields: Mapping[str, str]) -> Envelope:
        message, attempts = decode(fields["m"])
        return Envelope(entry_id, message, attempts)

    async def claim(self, key: str, consumer: str, now: datetime, cap: CapCheck | None = None) -> str:
        args = [key, consumer, _ms(now)]
        if cap is not None:
            args += [cap.day_key, cap.week_key, str(cap.day_cap), str(cap.week_cap)]
        return await self._claims.submit(args)

    async def _claim_many(self, calls: Sequence[list[str]]) -> list[str]:
        # Each claim stays one atomic script (caps checked and counted inside it); only the trip is shared.
        return [str(r) for r in await self._claim.run([([self._p], args) for args in calls])]

    async def hold(self, envelope: Envelope, due: datetime, reason: str, now: datetime) -> None:
        """Keep a message back until `due` (quiet hours, a live class); counted once per reason."""
        message = envelope.message
        await self._hold(
            keys=[self._p],
            args=[
                message.key,
                envelope.entry_id,
                encode(message, envelope.attempts),
                _ms(due),
                _ms(now),
                reason,
                f"{message.campaign_id}|{message.step_id}",
                f"{message.campaign_id}|{message.step_id}|{message.variant}",
            ],
        )

    async def finish(
        self, envelope: Envelope, status: str, now: datetime, *, message_id: str = "", reason: str = ""
    ) -> None:
        """Record the final fate of a message and take it off the stream.

        Finishes that arrive together (a dispatcher sends many messages at once) are written in one
        transaction, one round trip: see `_finish_many`.
        """
        await self._finishes.submit(_Finish(envelope, status, now, message_id, reason))

    async def _finish_many(self, finishes: Sequence[_Finish]) -> list[None]:
        # One transaction for the batch: a state record per message, the counters summed per field, and
        # one XACK and one XDEL for every entry, rather than six commands a message.
        stats: Counter[str] = Counter()
        vstats: Counter[str] = Counter()
        async with self._client.pipeline(transaction=True) as pipe:
            for envelope, status, now, message_id, reason in finishes:
                message = envelope.message
                pipe.hset(
                    f"{self._p}state:{message.key}",
                    mapping={
                        "status": status,
                        "message_id": message_id,
                        "reason": reason,
                        "updated_ms": _ms(now),
                        "platform": message.platform.value,
                    },
                )
                step = f"{message.campaign_id}|{message.step_id}"
                stats[f"{step}|{status}"] += 1
                # Per variant, with the reason for what a guard or the platform kept from the learner.
                detail = f"{status}: {reason}" if reason and status in GUARDED else status
                vstats[f"{step}|{message.variant}|{detail}"] += 1
                if status == "delivered" and message.promotional and message.private and message.learner_id:
                    # The last touch, to which a purchase soon after is attributed.
                    pipe.hset(
                        f"{self._p}touch:{message.course_id}",
                        message.learner_id,
                        f"{message.campaign_id}|{message.step_id}|{message.variant}|{_ms(now)}",
                    )
                if status == "dead":
                    pipe.xadd(f"{self._p}dead", {"m": encode(message, envelope.attempts), "reason": reason})
            for field, count in stats.items():
                pipe.hincrby(f"{self._p}stats", field, count)
            for field, count in vstats.items():
                pipe.hincrby(f"{self._p}vstats", field, count)
            entries = [finish.envelope.entry_id for finish in finishes]
            pipe.xack(self._stream, GROUP, *entries)
            pipe.xdel(self._stream, *entries)
            await pipe.execute()
        return [None] * len(finishes)

    async def ack(self, envelope: Envelope) -> None:
        """Take an entry off the stream without touching its record (it was already finished)."""
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, GROUP, envelope.entry_id)
            pipe.xdel(self._stream, envelope.entry_id)
            await pipe.execute()

    async def defer(self, envelope: Envelope, due: datetime, reason: str, now: datetime) -> None:
        """Try again at `due`: the message leaves the stream and waits in a sorted set."""
        message = envelope.message
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(
                f"{self._p}state:{message.key}",
                mapping={"status": "retry", "reason": reason, "updated_ms": _ms(now)},
            )
            pipe.zadd(f"{self._p}deferred", {encode(message, envelope.attempts + 1): float(_ms(due))})
            pipe.xack(self._stream, GROUP, envelope.entry_id)
            pipe.xdel(self._stream, envelope.entry_id)
            await pipe.execute()

    async def promote_due(self, now: datetime, limit: int = 500) -> int:
        return int(await self._promote(keys=[self._p], args=[_ms(now), str(limit)]))

    async def pending(self) -> int:
        """Messages in the stream not yet finished (read or not), plus deferred ones."""
        await self.ensure_group()
        length = await self._client.xlen(self._stream)
        deferred = await self._client.zcard(f"{self._p}deferred")
        return int(length) + int(deferred)

    async def delivered_id(self, key: str) -> str | None:
        state = await self.state(key)
        return state.get("message_id") or None if state.get("status") == "delivered" else None

    async def seen(self, key: str) -> bool:
        """Whether a message with this idempotency key was ever enqueued."""
        return bool(await self._client.exists(f"{self._p}idem:{key}"))

    async def state(self, key: str) -> dict[str, str]:
        return str_map(await self._client.hgetall(f"{self._p}state:{key}"))

    async def record_skip(
        self, campaign_id: str, step_id: str, reason: str, count: int = 1, variant: str = ""
    ) -> None:
        """Count messages a campaign step did not send, by reason (opted out, bought, no way to reach)."""
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.hincrby(f"{self._p}stats", f"{campaign_id}|{step_id}|skipped: {reason}", count)
            pipe.hincrby(f"{self._p}vstats", f"{campaign_id}|{step_id}|{variant}|skipped: {reason}", count)
            await pipe.execute()

    async def undecided(self, keys: Sequence[str]) -> set[str]:
        """The keys no earlier run of their step has decided about (sent, skipped or held out)."""
        if not keys:
            return set()
        async with self._client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.exists(f"{self._p}decided:{key}")
            seen = await pipe.execute()
        return {key for key, found in zip(keys, seen, strict=True) if not found}

    async def mark_decided(self, keys: Sequence[str], ttl_s: int = 90 * 86400) -> None:
        """Remember that these keys were decided, so a later run neither re-sends nor re-counts them."""
        if not keys:
            return
        async with self._client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.set(f"{self._p}decided:{key}", "1", ex=ttl_s)
            await pipe.execute()

    async def variant_stats(self) -> dict[tuple[str, str, str, str], int]:
        """Counts per (campaign, step, variant, outcome), outcomes with their reasons."""
        raw = str_map(await self._client.hgetall(f"{self._p}vstats"))
        out: dict[tuple[str, str, str, str], int] = {}
        for field, count in raw.items():
            campaign, step, variant, outcome = field.split("|", 3)
            out[(campaign, step, variant, outcome)] = int(count)
        return out

    async def last_touch(self, course_id: str, learner_id: str) -> Touch | None:
        """The last promotional campaign message delivered to the learner for the course."""
        raw = await self._client.hget(f"{self._p}touch:{course_id}", learner_id)
        if not raw:
            return None
        campaign, step, variant, ms = str(raw).split("|")
        return Touch(campaign, step, variant, datetime.fromtimestamp(int(ms) / 1000, UTC))

    async def stats(self) -> dict[tuple[str, str, str], int]:
        raw = str_map(await self._client.hgetall(f"{self._p}stats"))
        out: dict[tuple[str, str, str], int] = {}
        for field, count in raw.items():
            campaign, step, status = field.split("|")
            out[(campaign, step, status)] = int(count)
        return out

    async def dead_letters(self, count: int = 100) -> list[tuple[OutboundMessage, str]]:
        entries = cast(
            list[tuple[str, dict[str, str]]], await self._client.xrange(f"{self._p}dead", count=count)
        )
        return [(decode(fields["m"])[0], fields.get("reason", "")) for _, fields in entries]
