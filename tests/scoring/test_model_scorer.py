"""The trained model behind the Scorer port: segments from probability and engagement, reasons in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from bot.clock import ManualClock
from bot.config import ScoringConfig
from bot.config.model_scoring import ModelScoringConfig
from bot.domain import InteractionKind, LearnerActivity, Segment
from scoring.artifact import TrainedModel
from scoring.datasets.synthetic import SyntheticCourse
from scoring.errors import ScoringError
from scoring.features import derive, raw_from_history
from scoring.model_scorer import ModelScorer, load_scorer, raw_columns
from scoring.rules import RuleScorer
from scoring.signals import STORE_SIGNALS, grouped_contributions, reasons
from scoring.training import train
from tests.scoring.conftest import engagement_table


def config(**model: object) -> ScoringConfig:
    return ScoringConfig(model=ModelScoringConfig(**model))  # type: ignore[arg-type]


def test_without_a_model_the_rules_score(course: SyntheticCourse, tmp_path: Path) -> None:
    clock = ManualClock(course.history.read_at)
    activity = course.class_activity(2)[:50]
    for path in ("", str(tmp_path / "not-trained-yet.joblib")):
        scorer, said = load_scorer(config(path=path), clock)
        assert "engagement rules" in said
        assert scorer.score(activity) == RuleScorer(config()).score(activity)


def test_a_configured_model_is_loaded_relative_to_a_base_directory(
    course: SyntheticCourse, tmp_path: Path
) -> None:
    from scoring.store_training import train_from_store

    train_from_store(
        course.history, tmp_path / "models" / "m.joblib", folds=2, candidates=["logistic"], plot=False
    )
    scorer, said = load_scorer(
        config(path="models/m.joblib"), ManualClock(course.history.read_at), base=tmp_path
    )
    assert isinstance(scorer, ModelScorer)
    assert scorer.uses_model
    assert "logistic model at" in said


def test_a_model_trained_on_another_table_cannot_score_learners(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    engagement_table(200).to_csv(path, index=False)
    train(
        path,
        "bought",
        "customer",
        None,
        [],
        tmp_path / "m.joblib",
        folds=2,
        candidates=["logistic"],
        plot=False,
    )
    with pytest.raises(ScoringError, match="not on ClassPulse's own store"):
        load_scorer(config(path="m.joblib"), ManualClock(datetime(2026, 1, 1, tzinfo=UTC)), base=tmp_path)


def test_segments_follow_the_probability_thresholds_and_engagement(
    store_model: TrainedModel, course: SyntheticCourse
) -> None:
    settings = config(hot=0.5, warm=0.2, min_engagement=0.25)
    scores = ModelScorer(settings, store_model, ManualClock(course.history.read_at)).score_history(
        course.history
    )
    h = course.history
    p, index, seg = scores.probability, scores.index, scores.segments
    assert ((p >= 0) & (p <= 1)).all()
    assert (seg[h.bought] == "buyer").all()
    assert (seg[h.opted_out & ~h.bought] == "opted_out").all()
    free = ~h.bought & ~h.opted_out
    assert (seg[free & (p >= 0.5) & (index >= 0.25)] == "hot").all()
    assert (seg[free & (p >= 0.5) & (index < 0.25)] == "warm").all()
    assert (seg[free & (p >= 0.2) & (p < 0.5)] == "warm").all()
    assert (seg[free & (p < 0.2)] == "cold").all()
    assert {"hot", "warm", "cold"} <= set(seg[free].tolist())


def test_likelier_buyers_get_higher_probabilities(store_model: TrainedModel, course: SyntheticCourse) -> None:
    scores = ModelScorer(config(), store_model, ManualClock(course.history.read_at)).score_history(
        course.history
    )
    bought = course.history.bought
    assert scores.probability[bought].mean() > scores.probability[~bought].mean() + 0.2


def test_reasons_say_what_raised_the_score_and_what_lowered_it(
    store_model: TrainedModel, course: SyntheticCourse
) -> None:
    h = course.history
    raw = raw_from_history(h, by_id=False)
    features = derive(raw, int(h.read_at.timestamp() * 1000))
    words = reasons(store_model, features, raw_columns(raw))
    pushes = grouped_contributions(store_model, features, STORE_SIGNALS)
    phrase_of = {g.name: g for g in STORE_SIGNALS}
    assert words.shape == (len(h), 3)
    for i in range(0, len(h), 97):
        for reason in (r for r in words[i] if r):
            up = reason.endswith("(+)")
            assert up or reason.endswith("(−)")
            # The sign said in words is the sign of that signal's push for this learner.
            matching = [
                g for g, group in enumerate(STORE_SIGNALS) if _says(reason, phrase_of[group.name].name)
            ]
            assert matching, reason
            assert all((pushes[i, g] > 0) == up for g in matching)


def _says(reason: str, group: str) -> bool:
    starts: dict[str, tuple[str, ...]] = {
        "watch": ("watched",),
        "attendance": ("attended",),
        "offer": ("clicked the offer", "never clicked the offer"),
        "questions": ("asked",),
        "messages": ("wrote",),
        "reactions": ("reacted", "never reacted"),
        "polls": ("answered",),
        "link": ("clicked the class link", "never clicked the class link"),
        "coupons": ("received", "never received"),
        "tenure": ("first seen", "new today"),
        "platforms": ("on ", "platform unknown"),
    }
    return reason.startswith(starts[group])


def test_why_explains_one_learner_with_the_direction_of_each_signal(
    store_model: TrainedModel, course: SyntheticCourse
) -> None:
    h = course.history
    scorer = ModelScorer(config(), store_model, ManualClock(h.read_at))
    offers = h.counts[InteractionKind.OFFER_CLICK]
    never, keen = int(np.flatnonzero(offers == 0)[0]), int(np.flatnonzero(offers >= 2)[0])
    quiet = scorer.why(h, str(h.learner_ids[never]))
    eager = scorer.why(h, str(h.learner_ids[keen]))
    assert any(s.words == "never clicked the offer" for s in quiet.lowered)
    assert any(s.words.startswith("clicked the offer") for s in eager.raised)
    assert quiet.probability is not None
    assert 0 <= quiet.probability <= 1
    assert all(line.endswith(("(+)", "(−)")) for line in eager.lines())
    with pytest.raises(ScoringError, match="no learner 'ghost'"):
        scorer.why(h, "ghost")


def test_why_without_a_model_tells_what_the_rules_saw(course: SyntheticCourse) -> None:
    scorer = ModelScorer(config(), None, ManualClock(course.history.read_at))
    explanation = scorer.why(course.history, str(course.history.learner_ids[0]))
    assert explanation.probability is None
    assert any(line.startswith("watched") for line in explanation.lines())


def test_a_class_is_scored_on_the_learners_history_plus_the_class(
    store_model: TrainedModel, course: SyntheticCourse
) -> None:
    h = course.history
    clock = ManualClock(h.read_at + timedelta(days=6))
    scorer = ModelScorer(config(), store_model, clock)
    activity = [
        *course.class_activity(5)[:40],
        LearnerActivity(
            "newcomer",
            h.course_id,
            "c6",
            60.0,
            watched_seconds=3500,
            counts={InteractionKind.QUESTION: 3, InteractionKind.OFFER_CLICK: 1},
            attended=True,
        ),
    ]
    cold_start = scorer.score(activity)
    scorer.refresh(h)
    informed = scorer.score(activity)
    assert [s.learner_id for s in informed] == [a.learner_id for a in activity]
    assert all(s.probability is not None and s.reasons for s in informed)
    # Knowing the history changes the verdict on regulars, and a newcomer is scored on the class alone.
    assert [s.probability for s in informed[:40]] != [s.probability for s in cold_start[:40]]
    assert informed[-1].probability == cold_start[-1].probability
    # Engagement and the index stay those of the class, as the rules measure them.
    rules = RuleScorer(config()).score(activity)
    assert [(s.engagement, s.index) for s in informed] == [(r.engagement, r.index) for r in rules]
    assert informed[-1].segment in {Segment.HOT, Segment.WARM}
