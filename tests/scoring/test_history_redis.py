"""Bulk history on a real redis-server: what intake recorded comes back as columns, scores go back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from adapters.redis import RedisStore
from adapters.redis.history import RedisHistory
from adapters.redis.resp import IdIndex, RespError, RespFormatError, parse, parse_fast, parse_slow
from bot.clock import ManualClock
from bot.config import ScoringConfig
from bot.domain import (
    ClassSession,
    ClassState,
    Coupon,
    CouponKind,
    Identity,
    Interaction,
    InteractionKind,
    Platform,
    Segment,
)
from bot.history import PLATFORM_BITS, CourseHistory
from scoring.artifact import TrainedModel
from scoring.model_scorer import ModelScorer
from scoring.rescore import rescore_all

K = InteractionKind
T0 = datetime(2026, 11, 2, 18, 0, tzinfo=UTC)


def test_replies_parse_the_same_fast_and_slow_and_odd_values_fall_back() -> None:
    data = (
        b"*3\r\n$1\r\n5\r\n$-1\r\n$13\r\n1700000000005\r\n*0\r\n*2\r\n:1\r\n:-3\r\n"
        b"*2\r\n$8\r\ntelegram\r\n$0\r\n\r\n"
    )
    fast, slow = parse_fast(data), parse_slow(data)
    for field in ("counts", "length", "integer"):
        assert getattr(fast, field).tolist() == getattr(slow, field).tolist()
    assert (
        fast.texts().tolist()
        == slow.texts().tolist()
        == [b"5", b"", b"1700000000005", b"", b"", b"telegram", b""]
    )
    # A value holding a line break or starting with "$" is read right, through the slow path.
    assert parse(b"*2\r\n$4\r\na\r\nb\r\n$3\r\n$ab\r\n").texts().tolist() == [b"a\r\nb", b"$ab"]
    with pytest.raises(RespFormatError, match="outside their arrays"):
        parse_fast(b"$1\r\n5\r\n*1\r\n")
    with pytest.raises(RespError, match="WRONGTYPE"):
        parse(b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")


def test_the_id_index_finds_exact_ids_only() -> None:
    ids = np.array([b"tg-1", b"tg-10", b"dc-123456789012345", b"web-a"])
    index = IdIndex(ids)
    assert index.rows(
        np.array([b"web-a", b"tg-1", b"tg-100", b"dc-123456789012345", b"x" * 40])
    ).tolist() == [3, 0, -1, 2, -1]
    assert index.members(np.array([b"tg-10"])).tolist() == [False, True, False, False]


async def seed(store: RedisStore) -> None:
    """Two classes; ann watches, asks and buys, bob chats, cat never comes and opts out, dan drops in once."""
    for j in (1, 2):
        start = T0 + timedelta(days=7 * (j - 1))
        await store.classes.save(
            ClassSession(
                f"c{j}",
                "py",
                f"class {j}",
                ClassState.ENDED,
                started_at=start,
                ended_at=start + timedelta(minutes=60),
            )
        )
    ids = {
        name: await store.learners.resolve(Identity(Platform.TELEGRAM, str(k)), name)
        for k, name in enumerate(("ann", "bob", "cat", "dan"))
    }
    events: list[Interaction] = []

    def add(kind: K, who: str, klass: str, minute: int, **payload: int) -> None:
        at = T0 + timedelta(days=7 * (int(klass[1]) - 1), minutes=minute) if klass else T0 + timedelta(days=9)
        events.append(
            Interaction(
                kind,
                Platform.TELEGRAM if kind is not K.WATCH_HEARTBEAT else Platform.WEB,
                f"e{len(events)}",
                "py",
                ids[who],
                at,
                class_id=klass,
                payload=payload,
            )
        )

    for klass in ("c1", "c2"):
        add(K.WATCH_HEARTBEAT, "ann", klass, 10, seconds=3000)
        add(K.QUESTION, "ann", klass, 12)
        add(K.MESSAGE, "bob", klass, 5)
        add(K.MESSAGE, "bob", klass, 6)
    add(K.OFFER_CLICK, "ann", "c2", 50)
    add(K.WATCH_HEARTBEAT, "dan", "c2", 20, seconds=600)
    add(K.PURCHASE, "ann", "", 0)
    await store.intake.ingest(events)
    await store.activity.enroll("py", ids["cat"])
    await store.learners.set_opted_out(ids["cat"], True)
    await store.coupons.issue(
        Coupon(
            "PY-AAAA", "hot-48h", "py", ids["bob"], CouponKind.PERCENT, 20, "USD", T0, T0 + timedelta(days=2)
        ),
        "k1",
    )


def by_id(h: CourseHistory) -> dict[str, int]:
    return {str(lid): i for i, lid in enumerate(h.learner_ids.tolist())}


async def test_a_course_is_read_back_as_columns_by_both_paths(store: RedisStore, redis_url: str) -> None:
    await seed(store)
    now = T0 + timedelta(days=10)
    raw = await RedisHistory(store.client, store.keys, redis_url, raw_from=0).read("py", now)
    client = await RedisHistory(store.client, store.keys, redis_url, raw_from=10**9).read("py", now)
    assert sorted(raw.learner_ids.tolist()) == ["tg-0", "tg-1", "tg-2", "tg-3"]
    a, b = by_id(raw), by_id(client)
    for h, rows in ((raw, a), (client, b)):
        ann, bob, cat, dan = (rows[f"tg-{k}"] for k in range(4))
        assert h.class_ids == ("c1", "c2")
        assert h.class_minutes.tolist() == [60.0, 60.0]
        assert h.watch_s[ann] == 6000
        assert h.counts[K.QUESTION][ann] == 2
        assert h.counts[K.OFFER_CLICK][ann] == 1
        assert h.counts[K.MESSAGE][bob] == 4
        assert h.attended[ann].tolist() == [True, True]
        assert h.attended[dan].tolist() == [False, True]
        assert h.attended[cat].tolist() == [False, False]
        assert h.bought.tolist() == [i == ann for i in range(4)]
        assert h.opted_out[cat]
        assert not h.opted_out[ann]
        assert h.coupons_issued[bob] == 1
        assert h.coupons_issued[ann] == 0
        assert h.platforms[ann] == PLATFORM_BITS[Platform.TELEGRAM]
        # dan was last seen on the watch page: both his platforms count.
        assert h.platforms[dan] == PLATFORM_BITS[Platform.TELEGRAM] | PLATFORM_BITS[Platform.WEB]
        assert h.first_ms[ann] == int((T0 + timedelta(minutes=10)).timestamp() * 1000)
        assert h.first_ms[cat] == 0
    order = [a[str(i)] for i in client.learner_ids.tolist()]
    for name in ("watch_s", "first_ms", "platforms", "opted_out", "bought", "coupons_issued"):
        assert getattr(raw, name)[order].tolist() == getattr(client, name).tolist(), name
    assert raw.attended[order].tolist() == client.attended.tolist()


@pytest.mark.parametrize("raw_from", [0, 10**9])
async def test_a_course_nobody_joined_yet_reads_as_no_rows(
    store: RedisStore, redis_url: str, raw_from: int
) -> None:
    history = await RedisHistory(store.client, store.keys, redis_url, raw_from=raw_from).read("new", T0)
    assert history.learner_ids.tolist() == []
    assert history.bought.tolist() == []


def test_an_empty_id_index_finds_nothing() -> None:
    assert IdIndex(np.array([], dtype="S8")).rows(np.array([b"tg-1"])).tolist() == [-1]


async def test_a_few_learners_are_read_alone(store: RedisStore) -> None:
    await seed(store)
    h = await store.history.read("py", T0 + timedelta(days=10), ["tg-1", "nobody"])
    assert h.learner_ids.tolist() == ["tg-1", "nobody"]
    assert h.counts[K.MESSAGE].tolist() == [4, 0]
    assert h.coupons_issued.tolist() == [1, 0]
    assert h.attended.tolist() == [[True, True], [False, False]]


async def test_rescoring_writes_scores_the_store_reads_back_and_ranks(
    store: RedisStore, redis_url: str, store_model: TrainedModel
) -> None:
    await seed(store)
    now = T0 + timedelta(days=10)
    history = RedisHistory(store.client, store.keys, redis_url, raw_from=0)
    scorer = ModelScorer(ScoringConfig(), store_model, ManualClock(now))
    summary = await rescore_all(history, scorer, "py", now)
    assert summary.learners == 4
    assert summary.with_model
    assert sum(summary.segments.values()) == 4
    assert set(summary.seconds) == {"read", "features", "predict", "explain", "write"}
    saved = await store.scores.for_class("py", "")
    assert saved["tg-0"].segment is Segment.BUYER
    assert saved["tg-2"].segment is Segment.OPTED_OUT
    for score in saved.values():
        assert score.probability is not None
        assert 0 <= score.probability <= 1
        assert all(r.endswith(("(+)", "(−)")) for r in score.reasons)
    ranked = await store.scores.top("py", "", 10)
    assert [s.learner_id for s in ranked] == sorted(
        (lid for lid in ("tg-1", "tg-3")), key=lambda lid: -(saved[lid].probability or 0)
    )
    # The bulk read became the scorer's memory: a class's activity is now scored on the whole history.
    assert (
        scorer.score(
            await store.activity.for_class(
                ClassSession(
                    "c2",
                    "py",
                    "class 2",
                    ClassState.ENDED,
                    started_at=T0 + timedelta(days=7),
                    ended_at=T0 + timedelta(days=7, minutes=60),
                )
            )
        )[0].probability
        is not None
    )


async def test_the_embedded_store_reads_and_writes_the_same_way() -> None:
    store = RedisStore.open("memory://")
    try:
        await seed(store)
        now = T0 + timedelta(days=10)
        summary = await rescore_all(
            store.history, ModelScorer(ScoringConfig(), None, ManualClock(now)), "py", now
        )
        assert summary.learners == 4
        assert not summary.with_model
        saved = await store.scores.for_class("py", "")
        assert saved["tg-1"].reasons[0].startswith("watched none of 120 min")
        assert saved["tg-0"].probability is None
    finally:
        await store.close()
