"""Per-learner features from ClassPulse's own store, vectorised over all learners at once.

Two steps. `raw_*` gathers per-learner totals (counters, watch time, classes held and attended since the
learner was first seen, times, coupons, platforms) from either a bulk `CourseHistory` or a class's
`LearnerActivity` list; both give the same columns, so they can be added up (`add_class`). `derive` turns
totals into the model's features as of a given moment: rates, shares, recency, frequency.

Recency is that of attendance, not of any activity: the purchase itself is an event that refreshes "last
seen", so "seen recently" would partly be the label in disguise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bot.domain import InteractionKind, LearnerActivity, Platform
from bot.history import COUNTED_KINDS, PLATFORM_BITS, CourseHistory
from scoring.tabular import Column, ColumnKind

DAY_MS = 86_400_000
# Recency of someone never seen or never attending: a year, the far end of "long ago".
NEVER_DAYS = 365.0

COUNT_FEATURES = {
    InteractionKind.QUESTION: "questions",
    InteractionKind.MESSAGE: "messages",
    InteractionKind.REACTION: "reactions",
    InteractionKind.POLL_ANSWER: "poll_answers",
    InteractionKind.LINK_CLICK: "link_clicks",
    InteractionKind.OFFER_CLICK: "offer_clicks",
}
PLATFORM_FEATURES = {Platform.TELEGRAM: "on_telegram", Platform.DISCORD: "on_discord", Platform.WEB: "on_web"}

FEATURES: tuple[Column, ...] = (
    Column("attendance_rate", ColumnKind.NUMERIC, "classes attended / classes held since first seen"),
    Column("classes_attended", ColumnKind.NUMERIC),
    Column("attendance_per_week", ColumnKind.NUMERIC, "classes attended per week since first seen"),
    Column("days_since_attended", ColumnKind.NUMERIC, f"{NEVER_DAYS:g} when never"),
    Column("watched_share", ColumnKind.NUMERIC, "watch time / length of the classes held since first seen"),
    Column("watched_minutes", ColumnKind.NUMERIC),
    *(Column(name, ColumnKind.NUMERIC) for name in COUNT_FEATURES.values()),
    Column("days_since_first_seen", ColumnKind.NUMERIC),
    Column("coupons_received", ColumnKind.NUMERIC),
    *(Column(name, ColumnKind.BOOLEAN) for name in PLATFORM_FEATURES.values()),
    Column("platform_count", ColumnKind.NUMERIC),
)
FEATURE_NAMES = [c.name for c in FEATURES]


def raw_from_history(history: CourseHistory, by_id: bool = True) -> pd.DataFrame:
    """Per-learner totals in the history's order, indexed by learner id (or by row number, which is
    cheaper for a million learners when nobody looks learners up by id)."""
    n = len(history)
    first = history.first_ms
    starts = history.class_start_ms
    ends = starts + (history.class_minutes * 60_000).astype(np.int64)
    # A class counts for a learner if it ended after they were first seen (everyone, for the never-seen).
    order = np.argsort(ends, kind="stable")
    sorted_ends = ends[order]
    minutes_after = np.concatenate([np.cumsum(history.class_minutes[order][::-1])[::-1], [0.0]])
    first_index = np.searchsorted(
        sorted_ends, np.where(first > 0, first, np.iinfo(np.int64).min), side="left"
    )
    held_n = len(starts) - first_index
    held_minutes = minutes_after[first_index]
    attended = history.attended
    attended_n = attended.sum(axis=1) if attended.size else np.zeros(n, np.int64)
    last_attended = (
        np.where(attended, starts[None, :], 0).max(axis=1) if attended.size else np.zeros(n, np.int64)
    )
    data: dict[str, np.ndarray] = {k.value: history.counts[k].astype(np.int64) for k in COUNTED_KINDS}
    data.update(
        {
            "watch_s": history.watch_s.astype(np.int64),
            "first_ms": first.astype(np.int64),
            "attended_n": attended_n.astype(np.int64),
            "held_n": held_n.astype(np.int64),
            "held_minutes": held_minutes.astype(np.float64),
            "last_attended_ms": last_attended.astype(np.int64),
            "coupons": history.coupons_issued.astype(np.int64),
            "platforms": history.platforms.astype(np.int64),
            "bought": history.bought.astype(np.bool_),
            "opted_out": history.opted_out.astype(np.bool_),
        }
    )
    return pd.DataFrame(data, index=pd.Index(history.learner_ids, name="learner_id") if by_id else None)


def raw_from_activities(activities: Sequence[LearnerActivity], class_start_ms: int) -> pd.DataFrame:
    """Per-learner totals of one class, as if it were the learners' whole history."""
    ids = [a.learner_id for a in activities]
    attended = np.array([a.attended for a in activities], dtype=np.bool_)
    data: dict[str, np.ndarray] = {
        k.value: np.array([a.count(k) for a in activities], dtype=np.int64) for k in COUNTED_KINDS
    }
    data.update(
        {
            "watch_s": np.array([a.watched_seconds for a in activities], dtype=np.float64)
            .round()
            .astype(np.int64),
            "first_ms": np.full(len(ids), class_start_ms, dtype=np.int64),
            "attended_n": attended.astype(np.int64),
            "held_n": np.ones(len(ids), dtype=np.int64),
            "held_minutes": np.array([a.class_minutes for a in activities], dtype=np.float64),
            "last_attended_ms": np.where(attended, class_start_ms, 0).astype(np.int64),
            "coupons": np.zeros(len(ids), dtype=np.int64),
            "platforms": np.zeros(len(ids), dtype=np.int64),
            "bought": np.array([a.bought for a in activities], dtype=np.bool_),
            "opted_out": np.array([a.opted_out for a in activities], dtype=np.bool_),
        }
    )
    return pd.DataFrame(data, index=pd.Index(ids, name="learner_id"))


def add_class(history: pd.DataFrame, one_class: pd.DataFrame) -> pd.DataFrame:
    """Totals of learners' history plus one more class (given as `raw_from_activities` of it).

    Learners without history get the class alone; the class's bought and opted-out flags are the newer ones.
    """
    known = history.reindex(one_class.index)
    has = known["held_n"].notna().to_numpy()
    out = one_class.copy()
    add = [k.value for k in COUNTED_KINDS] + ["watch_s", "attended_n", "held_n", "held_minutes", "coupons"]
    for column in add:
        out.loc[has, column] = one_class.loc[has, column] + known.loc[has, column].astype(
            one_class[column].dtype
        )
    out.loc[has, "last_attended_ms"] = np.maximum(
        one_class.loc[has, "last_attended_ms"], known.loc[has, "last_attended_ms"].astype(np.int64)
    )
    earlier = known.loc[has, "first_ms"].astype(np.int64)
    out.loc[has, "first_ms"] = np.where(
        earlier > 0, np.minimum(earlier, one_class.loc[has, "first_ms"]), one_class.loc[has, "first_ms"]
    )
    out.loc[has, "platforms"] = known.loc[has, "platforms"].astype(np.int64)
    return out


def derive(raw: pd.DataFrame, now_ms: int) -> pd.DataFrame:
    """The model's features (FEATURE_NAMES, in order) as of `now_ms`."""
    held_n = raw["held_n"].to_numpy(np.float64)
    attended_n = raw["attended_n"].to_numpy(np.float64)
    held_minutes = raw["held_minutes"].to_numpy(np.float64)
    watched = raw["watch_s"].to_numpy(np.float64) / 60.0
    first = raw["first_ms"].to_numpy(np.int64)
    last_attended = raw["last_attended_ms"].to_numpy(np.int64)
    tenure_days = np.where(first > 0, np.maximum(now_ms - first, 0) / DAY_MS, 0.0)
    platforms = raw["platforms"].to_numpy(np.int64)
    out: dict[str, np.ndarray] = {
        "attendance_rate": np.divide(attended_n, held_n, out=np.zeros_like(attended_n), where=held_n > 0),
        "classes_attended": attended_n,
        "attendance_per_week": attended_n / np.maximum(tenure_days / 7.0, 1.0),
        "days_since_attended": _days_since(last_attended, now_ms),
        # Watching a replay can exceed the live length; beyond one and a half times it says nothing more.
        "watched_share": np.minimum(
            np.divide(watched, held_minutes, out=np.zeros_like(watched), where=held_minutes > 0), 1.5
        ),
        "watched_minutes": watched,
    }
    for kind, name in COUNT_FEATURES.items():
        out[name] = raw[kind.value].to_numpy(np.float64)
    out["days_since_first_seen"] = tenure_days
    out["coupons_received"] = raw["coupons"].to_numpy(np.float64)
    for platform, name in PLATFORM_FEATURES.items():
        out[name] = ((platforms & PLATFORM_BITS[platform]) > 0).astype(np.float64)
    on = np.array([(platforms & bit) > 0 for bit in PLATFORM_BITS.values()])
    out["platform_count"] = on.sum(axis=0).astype(np.float64)
    return pd.DataFrame(out, index=raw.index)[FEATURE_NAMES]


def _days_since(ms: np.ndarray, now_ms: int) -> np.ndarray:
    days = np.maximum(now_ms - ms, 0) / DAY_MS
    result: np.ndarray = np.where(ms > 0, np.minimum(days, NEVER_DAYS), NEVER_DAYS)
    return result
