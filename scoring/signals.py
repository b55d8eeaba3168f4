"""Explanations in words: which of a learner's signals raised their score most, and which lowered it.

Features that describe one thing (watch share and watched minutes; attendance rate, count, frequency and
recency) are one signal: their contributions (additive log-odds, see explain.py) are summed before ranking,
so a learner never reads the same fact twice. Words are made once per distinct value and shared, which keeps
explaining a million learners vectorised.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bot.domain import Platform
from bot.history import PLATFORM_BITS
from scoring.artifact import STORE_FEATURES, TrainedModel
from scoring.explain import Signal, strongest

Columns = Mapping[str, NDArray[np.generic]]
# Words for some learners, from their columns (the model's features and, for the store, raw_ totals):
# the distinct phrases, and for each learner the number of theirs.
Words = tuple[list[str], NDArray[np.intp]]
Phrase = Callable[[Columns], Words]


@dataclass(frozen=True, slots=True)
class SignalGroup:
    name: str
    features: tuple[str, ...]
    phrase: Phrase


class _Rows(Mapping[str, NDArray[np.generic]]):
    """Columns restricted to some rows, sliced only when a phrase asks for a column."""

    def __init__(self, columns: Columns, rows: NDArray[np.intp]) -> None:
        self._columns = columns
        self._rows = rows

    def __getitem__(self, name: str) -> NDArray[np.generic]:
        return self._columns[name][self._rows]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


def _unique_words(keys: Sequence[NDArray[np.int64]], say: Callable[..., str]) -> Words:
    """say(*key), computed once per distinct key."""
    if len(keys[0]) == 0:
        return [], np.zeros(0, dtype=np.intp)
    # Several small integers packed into one, so that a plain (fast) unique finds the distinct keys.
    packed = keys[0].astype(np.int64)
    for key in keys[1:]:
        packed = packed * (1 << 21) + np.clip(key, 0, (1 << 21) - 1)
    _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
    return [say(*(int(k[i]) for k in keys)) for i in first.tolist()], inverse.reshape(-1).astype(np.intp)


def words_of(words: Words) -> NDArray[np.object_]:
    """One phrase per learner."""
    vocabulary, codes = words
    result: NDArray[np.object_] = (
        np.array([*vocabulary, ""], dtype=object)[codes] if len(codes) else (np.empty(0, dtype=object))
    )
    return result


def _int(f: Columns, column: str) -> NDArray[np.int64]:
    return np.rint(np.asarray(f[column], dtype=np.float64)).astype(np.int64)


def _times(n: int, one: str, many: str, none: str) -> str:
    return none if n == 0 else one if n == 1 else many.format(n=n)


def _count(column: str, one: str, many: str, none: str) -> Phrase:
    return lambda f: _unique_words([_int(f, column)], lambda n: _times(n, one, many, none))


def _watch(f: Columns) -> Words:
    def say(watched: int, held: int) -> str:
        if held == 0:
            return "no class held yet"
        return f"watched none of {held} min" if watched == 0 else f"watched {watched} of {held} min"

    return _unique_words([_int(f, "watched_minutes"), _int(f, "raw_held_minutes")], say)


def _attendance(f: Columns) -> Words:
    def say(attended: int, held: int) -> str:
        if held == 0:
            return "no class held yet"
        classes = f"{held} class{'es' if held != 1 else ''}"
        return f"attended none of {classes}" if attended == 0 else f"attended {attended} of {classes}"

    return _unique_words([_int(f, "classes_attended"), _int(f, "raw_held_n")], say)


def _tenure(f: Columns) -> Words:
    def say(days: int) -> str:
        return "new today" if days == 0 else f"first seen {days} day{'s' if days != 1 else ''} ago"

    return _unique_words([_int(f, "days_since_first_seen")], say)


_PLATFORM_NAMES = {Platform.TELEGRAM: "Telegram", Platform.DISCORD: "Discord", Platform.WEB: "the watch page"}


def _platforms(f: Columns) -> Words:
    def say(bits: int) -> str:
        names = [name for platform, name in _PLATFORM_NAMES.items() if bits & PLATFORM_BITS[platform]]
        if not names:
            return "platform unknown"
        return "on " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])

    return _unique_words([_int(f, "raw_platforms")], say)


STORE_SIGNALS: tuple[SignalGroup, ...] = (
    SignalGroup("watch", ("watched_share", "watched_minutes"), _watch),
    # Recency belongs with attendance: read apart, "never attended" and "attended 0 of 8" would be two
    # contributions of one fact, which the additive explanation may even give opposite signs.
    SignalGroup(
        "attendance",
        ("attendance_rate", "classes_attended", "attendance_per_week", "days_since_attended"),
        _attendance,
    ),
    SignalGroup("tenure", ("days_since_first_seen",), _tenure),
    SignalGroup(
        "questions",
        ("questions",),
        _count("questions", "asked a question", "asked {n} questions", "asked no question"),
    ),
    SignalGroup(
        "messages",
        ("messages",),
        _count("messages", "wrote a message", "wrote {n} messages", "wrote no message"),
    ),
    SignalGroup(
        "reactions", ("reactions",), _count("reactions", "reacted once", "reacted {n} times", "never reacted")
    ),
    SignalGroup(
        "polls",
        ("poll_answers",),
        _count("poll_answers", "answered a poll", "answered {n} polls", "answered no poll"),
    ),
    SignalGroup(
        "link",
        ("link_clicks",),
        _count(
            "link_clicks",
            "clicked the class link",
            "clicked the class link {n} times",
            "never clicked the class link",
        ),
    ),
    SignalGroup(
        "offer",
        ("offer_clicks",),
        _count("offer_clicks", "clicked the offer", "clicked the offer {n} times", "never clicked the offer"),
    ),
    SignalGroup(
        "coupons",
        ("coupons_received",),
        _count("coupons_received", "received a coupon", "received {n} coupons", "never received a coupon"),
    ),
    SignalGroup("platforms", ("on_telegram", "on_discord", "on_web", "platform_count"), _platforms),
)


def _generic(feature: str) -> SignalGroup:
    def phrase(f: Columns) -> Words:
        values = f[feature]
        if np.issubdtype(values.dtype, np.number):
            shown = [
                f"{feature} missing" if math.isnan(v) else f"{feature} = {v:.4g}" for v in values.tolist()
            ]
        else:
            shown = [
                f"{feature} = {v}" if isinstance(v, str) else f"{feature} missing" for v in values.tolist()
            ]
        vocabulary, codes = np.unique(np.array(shown, dtype=object), return_inverse=True)
        return [str(v) for v in vocabulary], codes.reshape(-1).astype(np.intp)

    return SignalGroup(feature, (feature,), phrase)


def signal_groups(model: TrainedModel) -> tuple[SignalGroup, ...]:
    """The store's named signals for a store model; one signal per column for any other table."""
    if model.source == STORE_FEATURES:
        return STORE_SIGNALS
    return tuple(_generic(name) for name in model.explainer.features)


def columns_of(features: pd.DataFrame, extra: Columns | None = None) -> dict[str, NDArray[np.generic]]:
    columns: dict[str, NDArray[np.generic]] = {c: features[c].to_numpy() for c in features.columns}
    columns.update(extra or {})
    return columns


def grouped_contributions(
    model: TrainedModel, features: pd.DataFrame, groups: Sequence[SignalGroup]
) -> NDArray[np.float64]:
    """Learners x signals: the log-odds push of each signal (the sum over its features)."""
    group_of = {name: g for g, group in enumerate(groups) for name in group.features}
    out = np.zeros((len(features), len(groups)), order="F")  # one contiguous column per signal
    for effect in model.explainer.effects:
        if effect.name in group_of:
            out[:, group_of[effect.name]] += effect.at(features[effect.name])
    return out


def reason_codes(
    model: TrainedModel, features: pd.DataFrame, extra: Columns | None = None, up: int = 2, down: int = 1
) -> tuple[NDArray[np.intp], list[str]]:
    """Learners x (up + down) reasons, as numbers of phrases in words with their direction.

    Phrases read like "watched 52 of 60 min (+)"; the strongest raises come first, then the strongest drags;
    number 0 is the empty phrase, padding learners with fewer strong signals. `extra` holds what the words
    need beside the features (the store's raw totals, prefixed raw_). Phrases are numbered while they are
    made, so a million learners' reasons stay integer arrays.
    """
    groups = signal_groups(model)
    pushes = grouped_contributions(model, features, groups)
    raised, lowered = strongest(pushes, up, down)
    slots = np.concatenate([raised, lowered], axis=1)
    columns = columns_of(features, extra)
    vocabulary = [""]
    codes = np.zeros(slots.shape, dtype=np.intp)
    for g, group in enumerate(groups):
        for slot in range(slots.shape[1]):
            rows = np.flatnonzero(slots[:, slot] == g)
            if len(rows) == 0:
                continue
            phrases, which = group.phrase(_Rows(columns, rows))
            mark = " (+)" if slot < up else " (−)"
            codes[rows, slot] = len(vocabulary) + which
            vocabulary.extend(p + mark for p in phrases)
    # Close the gaps left by weak signals, keeping the order.
    filled = codes > 0
    place = np.cumsum(filled, axis=1) - 1
    rows, cols = np.nonzero(filled)
    packed = np.zeros(slots.shape, dtype=np.intp)
    packed[rows, place[rows, cols]] = codes[rows, cols]
    return packed, vocabulary


def reasons(
    model: TrainedModel, features: pd.DataFrame, extra: Columns | None = None, up: int = 2, down: int = 1
) -> NDArray[np.object_]:
    """`reason_codes` as words: learners x slots of phrases ("" pads)."""
    codes, vocabulary = reason_codes(model, features, extra, up, down)
    result: NDArray[np.object_] = np.array(vocabulary, dtype=object)[codes]
    return result


def signals_of(
    model: TrainedModel, features: pd.DataFrame, extra: Columns | None = None, row: int = 0
) -> tuple[list[Signal], list[Signal]]:
    """Every signal of one learner that pushed their score, raising and lowering ones, strongest first."""
    groups = signal_groups(model)
    pushes = grouped_contributions(model, features.iloc[[row]], groups)[0]
    one = _Rows(columns_of(features, extra), np.array([row]))
    signals = [
        Signal(group.name, float(push), str(words_of(group.phrase(one))[0]))
        for group, push in zip(groups, pushes, strict=True)
        if abs(push) > 1e-9
    ]
    raised = sorted((s for s in signals if s.contribution > 0), key=lambda s: -s.contribution)
    lowered = sorted((s for s in signals if s.contribution < 0), key=lambda s: s.contribution)
    return raised, lowered
