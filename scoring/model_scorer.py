"""The trained model behind the `Scorer` port: purchase probability and engagement make the segment.

Segments (thresholds in `[scoring.model]`): a buyer is a buyer and an opted-out learner stays out of reach;
otherwise a learner whose calibrated probability of buying reaches `hot` is hot when they are engaged in the
class (index >= `min_engagement`), warm when they are not; a probability from `warm` up is warm; the rest
are cold. Without a trained model every call goes to the rules (`RuleScorer`), the cold-start fallback.

The model reads a learner's whole course history. `score()` gets only the activity of one class, so the
scorer keeps the latest bulk read of each course (`refresh`, which `rescore_all` calls) and adds the class
to it; a learner missing from that read is scored on the class alone, as a newcomer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bot.config import ScoringConfig
from bot.config.model_scoring import ModelScoringConfig
from bot.domain import InteractionKind, LearnerActivity, LearnerScore, Segment
from bot.history import CourseHistory, ScoreColumns
from bot.ports import Clock
from scoring.artifact import STORE_FEATURES, TrainedModel, load_model
from scoring.engagement import engagement_index
from scoring.errors import ScoringError
from scoring.explain import Signal
from scoring.features import FEATURE_NAMES, add_class, derive, raw_from_activities, raw_from_history
from scoring.rules import RuleScorer
from scoring.signals import STORE_SIGNALS, Columns, columns_of, reason_codes, reasons, signals_of, words_of

log = logging.getLogger(__name__)
K = InteractionKind


def segments(
    probability: NDArray[np.float64],
    index: NDArray[np.float64],
    bought: NDArray[np.bool_],
    opted_out: NDArray[np.bool_],
    config: ModelScoringConfig,
) -> NDArray[np.str_]:
    likely = probability >= config.hot
    seg = np.where(
        likely & (index >= config.min_engagement),
        Segment.HOT.value,
        np.where(likely | (probability >= config.warm), Segment.WARM.value, Segment.COLD.value),
    )
    seg = np.where(opted_out, Segment.OPTED_OUT.value, seg)
    result: NDArray[np.str_] = np.where(bought, Segment.BUYER.value, seg)
    return result


def rule_segments(
    index: NDArray[np.float64],
    offer_clicks: NDArray[np.float64],
    bought: NDArray[np.bool_],
    opted_out: NDArray[np.bool_],
    config: ScoringConfig,
) -> NDArray[np.str_]:
    """RuleScorer.segment over whole columns."""
    t = config.segments
    hot = (index >= t.hot) | (config.offer_click_makes_hot & (offer_clicks > 0) & (index >= t.warm))
    seg = np.where(hot, Segment.HOT.value, np.where(index >= t.warm, Segment.WARM.value, Segment.COLD.value))
    seg = np.where(opted_out, Segment.OPTED_OUT.value, seg)
    result: NDArray[np.str_] = np.where(bought, Segment.BUYER.value, seg)
    return result


def raw_columns(raw: pd.DataFrame) -> dict[str, NDArray[np.generic]]:
    """The raw totals (prefixed raw_) that the words need beside the features."""
    return {f"raw_{c}": raw[c].to_numpy() for c in ("held_minutes", "held_n", "platforms")}


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a learner has their score: the `why <learner>` answer."""

    learner_id: str
    segment: Segment
    probability: float | None  # None when the rules scored (no model yet)
    raised: tuple[Signal, ...] = ()
    lowered: tuple[Signal, ...] = ()
    facts: tuple[str, ...] = ()  # what the rules saw, when there is no model

    def lines(self, limit: int = 3) -> list[str]:
        if self.probability is None:
            return list(self.facts)
        return [str(s) for s in self.raised[:limit]] + [str(s) for s in self.lowered[:limit]]

    @property
    def summary(self) -> str:
        chance = f"{self.probability:.0%} likely to buy, " if self.probability is not None else ""
        return f"{self.learner_id}: {chance}{self.segment.value}"


@dataclass
class _Context:
    history: CourseHistory
    _raw: pd.DataFrame | None = None

    @property
    def raw(self) -> pd.DataFrame:
        # Built on first use: a batch rescoring refreshes the memory every time, a class may never ask.
        if self._raw is None:
            self._raw = raw_from_history(self.history)
        return self._raw

    @property
    def class_ids(self) -> tuple[str, ...]:
        return self.history.class_ids


@dataclass
class ModelScorer:
    """Implements `Scorer`: the trained model when there is one, the rules otherwise."""

    config: ScoringConfig
    model: TrainedModel | None
    clock: Clock
    rules: RuleScorer = field(init=False)
    _context: dict[str, _Context] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.rules = RuleScorer(self.config)
        if self.model is not None and self.model.source != STORE_FEATURES:
            raise ScoringError(
                f"the model was trained on {self.model.meta.get('source', 'a table')!r}, not on ClassPulse's "
                "own store; it cannot score learners (train it with `classpulse train --from-store`)"
            )
        if self.model is not None:
            self.model.check(pd.DataFrame(columns=FEATURE_NAMES))

    @property
    def uses_model(self) -> bool:
        return self.model is not None

    def refresh(self, history: CourseHistory) -> None:
        """Remember the course's latest bulk read: what `score()` adds a class's activity to."""
        self._context[history.course_id] = _Context(history)

    # --- the Scorer port ---

    def score(self, activity: Sequence[LearnerActivity]) -> list[LearnerScore]:
        if self.model is None or not activity:
            return self.rules.score(activity)
        out: list[LearnerScore] = []
        groups: dict[tuple[str, str], list[LearnerActivity]] = {}
        for a in activity:
            groups.setdefault((a.course_id, a.class_id), []).append(a)
        for (course_id, class_id), group in groups.items():
            out.extend(self._score_class(self.model, course_id, class_id, group))
        order = {id(a): i for i, a in enumerate(activity)}
        position = {(a.course_id, a.class_id, a.learner_id): order[id(a)] for a in activity}
        return sorted(out, key=lambda s: position[(s.course_id, s.class_id, s.learner_id)])

    def _score_class(
        self, model: TrainedModel, course_id: str, class_id: str, group: list[LearnerActivity]
    ) -> list[LearnerScore]:
        now_ms = int(self.clock.now().timestamp() * 1000)
        start_ms = now_ms - int(group[0].class_minutes * 60_000)
        one = raw_from_activities(group, start_ms)
        context = self._context.get(course_id)
        if context is None:
            raw = one
        elif class_id and class_id in context.class_ids:
            # The bulk read already counts this class (up to when it was read): use it, newcomers aside.
            known = context.raw.reindex(one.index)
            missing = known["held_n"].isna().to_numpy()
            raw = known.copy()
            raw.loc[missing] = one.loc[missing]
            raw = raw.astype(one.dtypes.to_dict())
            raw["bought"] = one["bought"]
            raw["opted_out"] = one["opted_out"]
        else:
            raw = add_class(context.raw, one)
        features = derive(raw, now_ms)
        probability = np.round(model.predict_prepared(features), 4)
        rule_scores = [self.rules.score_one(a) for a in group]
        index = np.array([s.index for s in rule_scores])
        seg = segments(
            probability, index, one["bought"].to_numpy(), one["opted_out"].to_numpy(), self.config.model
        )
        words = reasons(model, features, raw_columns(raw))
        return [
            LearnerScore(
                learner_id=r.learner_id,
                course_id=course_id,
                class_id=class_id,
                engagement=r.engagement,
                index=r.index,
                segment=Segment(seg[i]),
                reasons=tuple(w for w in words[i] if w),
                probability=float(probability[i]),
            )
            for i, r in enumerate(rule_scores)
        ]

    # --- whole courses at once ---

    def score_history(
        self, history: CourseHistory, class_id: str = "", timings: dict[str, float] | None = None
    ) -> ScoreColumns:
        """Course-wide scores of every learner of a bulk read, vectorised end to end.

        `timings`, when given, receives the seconds spent on features, predict and explain.
        """
        clock = _Stopwatch(timings)
        raw = raw_from_history(history, by_id=False)
        now_ms = int(history.read_at.timestamp() * 1000)
        features = derive(raw, now_ms)
        engagement, index = engagement_index(self.config, features, raw["held_minutes"].to_numpy(np.float64))
        bought, opted_out = history.bought, history.opted_out
        clock.lap("features")
        if self.model is None:
            probability = np.full(len(history), np.nan)
            seg = rule_segments(index, features["offer_clicks"].to_numpy(), bought, opted_out, self.config)
            codes, phrases = _rule_reasons(columns_of(features, raw_columns(raw)))
            clock.lap("explain")
        else:
            # Segments are decided on the figures as stored and shown (four decimals), never on hidden digits.
            probability = np.round(self.model.predict_prepared(features), 4)
            clock.lap("predict")
            seg = segments(probability, np.round(index, 4), bought, opted_out, self.config.model)
            codes, phrases = reason_codes(self.model, features, raw_columns(raw))
            clock.lap("explain")
        return ScoreColumns(
            course_id=history.course_id,
            class_id=class_id,
            learner_ids=history.learner_ids,
            engagement=np.round(engagement, 4),
            index=np.round(index, 4),
            probability=np.round(probability, 4),
            segments=seg,
            reasons=codes,
            phrases=tuple(phrases),
        )

    def why(self, history: CourseHistory, learner_id: str) -> Explanation:
        """The signals behind one learner's score (history: a bulk read holding that learner)."""
        rows = np.flatnonzero(history.learner_ids == learner_id)
        if len(rows) == 0:
            raise ScoringError(f"no learner {learner_id!r} in course {history.course_id!r}")
        raw = raw_from_history(history).iloc[rows[:1]]
        features = derive(raw, int(history.read_at.timestamp() * 1000))
        _, index = engagement_index(self.config, features, raw["held_minutes"].to_numpy(np.float64))
        bought, opted_out = raw["bought"].to_numpy(), raw["opted_out"].to_numpy()
        extra = raw_columns(raw)
        if self.model is None:
            seg = rule_segments(index, features["offer_clicks"].to_numpy(), bought, opted_out, self.config)
            both = columns_of(features, extra)
            facts = tuple(str(words_of(g.phrase(both))[0]) for g in STORE_SIGNALS if g.name in _RULE_FACTS)
            return Explanation(learner_id, Segment(seg[0]), None, facts=facts)
        probability = self.model.predict_prepared(features)
        seg = segments(probability, index, bought, opted_out, self.config.model)
        raised, lowered = signals_of(self.model, features, extra)
        return Explanation(
            learner_id, Segment(seg[0]), round(float(probability[0]), 4), tuple(raised), tuple(lowered)
        )


class _Stopwatch:
    def __init__(self, laps: dict[str, float] | None) -> None:
        self._laps = laps
        self._at = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        if self._laps is not None:
            self._laps[name] = now - self._at
        self._at = now


_RULE_FACTS = ("watch", "attendance", "offer", "questions", "polls", "messages")


def _rule_reasons(columns: Columns) -> tuple[NDArray[np.intp], list[str]]:
    """Without a model: what the rules look at, in words (watching, attendance, the offer), as numbers."""
    picked = [g for g in STORE_SIGNALS if g.name in ("watch", "attendance", "offer")]
    n = len(next(iter(columns.values()))) if columns else 0
    vocabulary = [""]
    codes = np.zeros((n, len(picked)), dtype=np.intp)
    for slot, group in enumerate(picked):
        if n:
            phrases, which = group.phrase(columns)
            codes[:, slot] = len(vocabulary) + which
            vocabulary.extend(phrases)
    return codes, vocabulary


def load_scorer(config: ScoringConfig, clock: Clock, base: Path | None = None) -> tuple[ModelScorer, str]:
    """The scorer the configuration asks for, and a line saying which it is (for the log and the CLI).

    No model configured, or none trained yet at the configured path: the rules. A model that cannot be used
    (damaged, trained on another table, another scikit-learn) raises a one-line ScoringError.
    """
    if not config.model.path:
        return ModelScorer(config, None, clock), "scoring with the engagement rules (no model configured)"
    path = Path(config.model.path)
    if base is not None and not path.is_absolute():
        path = base / path
    if not path.exists():
        return ModelScorer(
            config, None, clock
        ), f"scoring with the engagement rules (no model trained at {path} yet)"
    model = load_model(path)
    scorer = ModelScorer(config, model, clock)
    return scorer, f"scoring with the {model.meta.get('model', 'trained')} model at {path}"
