"""Learners' history in bulk (bot.history.LearnerHistory): read every learner of a course, write scores back.

Reads, one pipelined command per learner and key family (see bulk.py): the course totals
(`cp:{course}:l:<learner>`: counters, watch seconds, first and last event, last platform), the profile
(`cp:{learners}:profile:<learner>`: opted out, identities); then, one command each, the coupons issued
per learner for the course (`cp:{coupons}:issued-to:<course>`, kept by coupon_issue.lua), the attendee
set of each class (`cp:{course}:class:<class>:learners`) and the buyers set. Only the latest MAX_CLASSES
classes that have started are read: attendance rates and recency are about the recent past.

Writes use the layout of `RedisScores` (scores.py): one JSON value per learner in the class's scores hash,
and the ranking sorted set of learners one could still sell to; class id "" holds course-wide scores.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

import numpy as np
import redis.asyncio as aioredis
from numpy.typing import NDArray

from adapters.redis.bulk import Bulk, ClientBulk, RawBulk
from adapters.redis.classes import RedisClasses
from adapters.redis.connection import MEMORY_URL
from adapters.redis.keys import Keys
from adapters.redis.resp import Bytes, IdIndex
from bot.domain import ClassSession, Segment
from bot.history import COUNTED_KINDS, PLATFORM_BITS, CourseHistory, ScoreColumns

MAX_CLASSES = 50
# Below this many learners the redis-py client is quick enough and no second connection is opened.
SMALL = 2000
_INT_FIELDS = [*(k.value for k in COUNTED_KINDS), "watch_s", "first_ts"]
_TOTAL_FIELDS = [*_INT_FIELDS, "last_platform"]
_RANKED = {Segment.HOT.value, Segment.WARM.value, Segment.COLD.value}
_HSET_PAIRS = 1000  # field/value pairs per HSET (and members per ZADD, ZREM) command


def _decode_ids(raw: Bytes) -> NDArray[np.str_]:
    try:
        decoded: NDArray[np.str_] = raw.astype(np.str_)
    except UnicodeDecodeError:
        decoded = np.array([b.decode() for b in raw.tolist()], dtype=np.str_)
    return decoded


def _platform_bits(identities: Bytes, last_platform: Bytes) -> NDArray[np.uint8]:
    bits = np.zeros(len(identities), dtype=np.uint8)
    for platform, bit in PLATFORM_BITS.items():
        name = platform.value.encode()
        seen = (np.strings.find(identities, name + b":") >= 0) | (last_platform == name)
        bits |= np.where(seen, bit, 0).astype(np.uint8)
    return bits


class RedisHistory:
    """`url` lets it open its own protocol-level connection for reads and writes of `raw_from` learners or
    more; `memory://` (fakeredis) always goes through the client."""

    def __init__(
        self, client: aioredis.Redis, keys: Keys, url: str = MEMORY_URL, raw_from: int = SMALL
    ) -> None:
        self._client = client
        self._keys = keys
        self._url = url
        self._raw_from = raw_from

    @asynccontextmanager
    async def _bulk(self, rows: int) -> AsyncIterator[Bulk]:
        bulk: Bulk
        if self._url.startswith(MEMORY_URL) or rows < self._raw_from:
            bulk = ClientBulk(self._client)
        else:
            bulk = await RawBulk.open(self._url)
        try:
            yield bulk
        finally:
            await bulk.close()

    async def read(
        self, course_id: str, now: datetime, learner_ids: Sequence[str] | None = None
    ) -> CourseHistory:
        keys = self._keys
        sessions = [
            s for s in await RedisClasses(self._client, keys).all(course_id) if s.started_at is not None
        ]
        sessions = sorted(sessions, key=lambda s: s.started_at or now)[-MAX_CLASSES:]
        rows = (
            len(learner_ids)
            if learner_ids is not None
            else int(await self._client.scard(keys.course_learners(course_id)))
        )
        async with self._bulk(rows) as counters, self._bulk(rows) as sets:
            if learner_ids is None:
                ids = await sets.smembers(keys.course_learners(course_id).encode())
            else:
                ids = (
                    np.array([i.encode() for i in learner_ids], dtype=np.bytes_)
                    if learner_ids
                    else (np.zeros(0, dtype="S1"))
                )
            # Ids of equal length make identical commands but for the id: sorted so, they are built in bulk.
            lengths = np.minimum(np.strings.str_len(ids), 255).astype(np.uint8)  # a small key sorts fast
            ids = ids[np.argsort(lengths, kind="stable")]
            # Per-learner counters on one connection, whole sets on the other: Redis serves one while Python
            # parses the replies of the other.
            async with asyncio.TaskGroup() as group:
                learners = group.create_task(self._learners(counters, course_id, ids))
                memberships = group.create_task(
                    self._sets(sets, course_id, sessions, ids, learner_ids is None)
                )
        totals, opted_out, platforms = learners.result()
        attended, bought, coupons = memberships.result()
        return CourseHistory(
            course_id=course_id,
            read_at=now,
            learner_ids=_decode_ids(ids) if len(ids) else np.zeros(0, dtype=np.str_),
            counts={k: totals[k.value] for k in COUNTED_KINDS},
            watch_s=totals["watch_s"],
            first_ms=totals["first_ts"],
            platforms=platforms,
            opted_out=opted_out,
            bought=bought,
            coupons_issued=coupons,
            class_ids=tuple(s.id for s in sessions),
            class_start_ms=np.array(
                [int(s.started_at.timestamp() * 1000) for s in sessions if s.started_at], dtype=np.int64
            ),
            class_minutes=np.array([s.minutes for s in sessions], dtype=np.float64),
            attended=attended,
        )

    async def _learners(
        self, bulk: Bulk, course_id: str, ids: Bytes
    ) -> tuple[dict[str, NDArray[np.int64]], NDArray[np.bool_], NDArray[np.uint8]]:
        """Each learner's course totals and profile: counters, opted out, platforms."""
        width = len(_TOTAL_FIELDS)
        *counters, last_platform = await bulk.hmget(
            self._keys.course(course_id).encode() + b"l:",
            ids,
            [f.encode() for f in _TOTAL_FIELDS],
            texts=frozenset({width - 1}),
        )
        totals = {name: np.asarray(c, dtype=np.int64) for name, c in zip(_INT_FIELDS, counters, strict=True)}
        opted, identities = await bulk.hmget(
            self._keys.learner("").encode(), ids, [b"opted_out", b"identities"], texts=frozenset({0, 1})
        )
        platforms = _platform_bits(np.asarray(identities, np.bytes_), np.asarray(last_platform, np.bytes_))
        return totals, np.asarray(opted == b"1", dtype=np.bool_), platforms

    async def _sets(
        self, bulk: Bulk, course_id: str, sessions: Sequence[ClassSession], ids: Bytes, everyone: bool
    ) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.int64]]:
        """Attendance of each class, who bought, coupons received: from sets, one command each."""
        keys = self._keys
        set_keys = [keys.class_learners(course_id, s.id).encode() for s in sessions] + [
            keys.buyers(course_id).encode()
        ]
        if everyone:
            index = IdIndex(ids)
            found = [index.members(members) for members in await bulk.smembers_each(set_keys)]
        else:
            found = [await bulk.smismember(key, ids.tolist()) for key in set_keys]
        attended = np.column_stack(found[:-1]) if sessions else np.zeros((len(ids), 0), dtype=np.bool_)
        return attended, found[-1], await self._coupons(bulk, course_id, ids, index if everyone else None)

    async def _coupons(
        self, bulk: Bulk, course_id: str, ids: Bytes, index: IdIndex | None
    ) -> NDArray[np.int64]:
        """Coupons of this course issued to each learner, from the per-course index coupon_issue.lua keeps."""
        key = f"{self._keys.coupons()}issued-to:{course_id}".encode()
        if index is None:  # a few learners: their fields of the index (one value per field)
            fields = await bulk.hmget(key, np.array([b""]), ids.tolist()) if len(ids) else []
            return np.array([int(f[0]) for f in fields], dtype=np.int64)
        pairs = await bulk.hgetall(key)
        counts = np.zeros(len(ids), dtype=np.int64)
        if len(pairs.length):
            learners = pairs.take(np.arange(0, len(pairs.length), 2)).texts()
            at = index.rows(learners)
            counts[at[at >= 0]] = pairs.take(np.arange(1, len(pairs.length), 2)).ints()[at >= 0]
        return counts

    async def write_scores(self, scores: ScoreColumns) -> None:
        """Save every learner's score (JSON, as RedisScores writes it) and update the ranking."""
        if len(scores) == 0:
            return
        payloads, count = _score_commands(self._keys, scores)
        async with self._bulk(len(scores)) as bulk:
            await bulk.send(payloads, count)  # built while Redis stores the previous ones


def _score_commands(keys: Keys, scores: ScoreColumns) -> tuple[Iterator[bytes], int]:
    """HSET of the scores, ZADD and ZREM of the ranking, in chunks, as protocol text; and how many.

    Commands are written as protocol text directly: redis-py's packing of two million arguments would take
    longer than Redis takes to store them. The JSON is ASCII (json.dumps escapes the rest) and ids usually
    are: then a text's length is its byte length and a whole command is encoded at once.
    """
    n = len(scores)
    ids: list[str] = scores.learner_ids.tolist()
    size: Callable[[str], int] = len if "".join(ids).isascii() else _utf8_size
    table = keys.scores(scores.course_id, scores.class_id)
    ranking = keys.ranking(scores.course_id, scores.class_id)
    ranked = np.isin(scores.segments, list(_RANKED))
    chosen, gone = np.flatnonzero(ranked).tolist(), np.flatnonzero(~ranked).tolist()
    count = sum(-(-len(rows) // _HSET_PAIRS) for rows in (ids, chosen, gone))

    def commands() -> Iterator[bytes]:
        json_phrases = ["", *(json.dumps(p) for p in scores.phrases[1:])]
        quoted = (
            np.array(json_phrases, dtype=object),
            np.array(["", *("," + q for q in json_phrases[1:])], dtype=object),
        )
        for at in range(0, n, _HSET_PAIRS):
            rows = slice(at, min(at + _HSET_PAIRS, n))
            values = _score_json(scores, rows, quoted)
            pairs = [
                f"${size(a)}\r\n{a}\r\n${len(b)}\r\n{b}\r\n" for a, b in zip(ids[rows], values, strict=True)
            ]
            yield _command("HSET", table, 2 * len(pairs), "".join(pairs))
        rank = np.where(np.isnan(scores.probability), scores.index, scores.probability)
        for at in range(0, len(chosen), _HSET_PAIRS):
            picked = chosen[at : at + _HSET_PAIRS]
            text = _fixed(rank[picked])
            pairs = [
                f"${len(t)}\r\n{t}\r\n${size(ids[r])}\r\n{ids[r]}\r\n"
                for t, r in zip(text, picked, strict=True)
            ]
            yield _command("ZADD", ranking, 2 * len(pairs), "".join(pairs))
        for at in range(0, len(gone), _HSET_PAIRS):
            members = [f"${size(ids[r])}\r\n{ids[r]}\r\n" for r in gone[at : at + _HSET_PAIRS]]
            yield _command("ZREM", ranking, len(members), "".join(members))

    return commands(), count


def _utf8_size(text: str) -> int:
    return len(text.encode())


def _command(name: str, key: str, arguments: int, body: str) -> bytes:
    head = f"*{2 + arguments}\r\n${len(name)}\r\n{name}\r\n${len(key.encode())}\r\n{key}\r\n"
    return (head + body).encode()


def _fixed(values: NDArray[np.float64]) -> list[str]:
    """Numbers with four decimals as JSON text ("null" for NaN)."""
    text = ["%.4f" % v for v in values.tolist()]  # noqa: UP031 (the fastest way to format a million floats)
    return [t if t != "nan" else "null" for t in text] if np.isnan(values).any() else text


def _score_json(
    scores: ScoreColumns, rows: slice, quoted: tuple[NDArray[np.object_], NDArray[np.object_]]
) -> list[str]:
    """The JSON RedisScores stores per learner ({"e","i","s","r","p"}) for some rows, built all at once.

    `quoted` holds every phrase as JSON, once bare (the first reason) and once after its separating comma
    (the others: reasons fill the first slots); each learner's reasons are then a few array lookups.
    """
    codes = scores.reasons[rows]
    reasons = quoted[0][codes[:, 0]] if codes.shape[1] else np.full(len(codes), "", dtype=object)
    for j in range(1, codes.shape[1]):
        reasons = reasons + quoted[1][codes[:, j]]
    e, i, p = _fixed(scores.engagement[rows]), _fixed(scores.index[rows]), _fixed(scores.probability[rows])
    return [
        f'{{"e":{e_},"i":{i_},"s":"{s_}","r":[{r_}],"p":{p_}}}'
        for e_, i_, s_, r_, p_ in zip(e, i, scores.segments[rows].tolist(), reasons.tolist(), p, strict=True)
    ]
