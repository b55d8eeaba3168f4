"""The rule scorer: the seeds' engagement score, a bounded index where chat cannot outweigh watching."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from bot.config.schema import ScoringConfig
from bot.domain import InteractionKind, LearnerActivity, Segment
from scoring.rules import RuleScorer

K = InteractionKind
scorer = RuleScorer(ScoringConfig())


def activity(watched_min: float = 0, *, attended: bool = True, **counts: int) -> LearnerActivity:
    return LearnerActivity(
        "tg-1",
        "py",
        "c1",
        class_minutes=60,
        watched_seconds=watched_min * 60,
        counts={K(k): v for k, v in counts.items()},
        attended=attended,
        bought=False,
        opted_out=False,
    )


def test_engagement_is_the_seeds_formula() -> None:
    score = scorer.score_one(activity(45, message=10, question=3, reaction=2))
    assert score.engagement == round((45 + 10 + 3 + 2) / 60, 4)


@given(
    watched=st.floats(0, 500),
    counts=st.dictionaries(
        st.sampled_from(["message", "question", "reaction", "poll_answer", "offer_click", "link_click"]),
        st.integers(0, 10_000),
    ),
)
def test_the_index_stays_between_zero_and_one(watched: float, counts: dict[str, int]) -> None:
    index = scorer.score_one(activity(watched, attended=True, **counts)).index
    assert 0.0 <= index <= 1.0


@given(
    spam=st.dictionaries(
        st.sampled_from(["message", "question", "reaction", "poll_answer"]), st.integers(0, 100_000)
    )
)
def test_no_amount_of_chat_outweighs_watching_the_whole_class(spam: dict[str, int]) -> None:
    chatter = scorer.score_one(activity(0, attended=True, **spam))
    watcher = scorer.score_one(activity(60))
    assert chatter.index < watcher.index


def test_segments_follow_the_thresholds() -> None:
    assert scorer.score_one(activity(60, question=3, message=5)).segment is Segment.HOT
    assert scorer.score_one(activity(40)).segment is Segment.WARM
    assert scorer.score_one(activity(5)).segment is Segment.COLD
    assert scorer.score_one(activity(0, attended=False)).segment is Segment.COLD


def test_an_offer_click_lifts_a_warm_learner_to_hot() -> None:
    warm = activity(30)
    assert scorer.score_one(warm).segment is Segment.WARM
    assert scorer.score_one(activity(30, offer_click=1)).segment is Segment.HOT


def test_buyers_and_opted_out_learners_have_their_own_segments() -> None:
    engaged = activity(60, question=4)
    assert scorer.score_one(replace(engaged, bought=True)).segment is Segment.BUYER
    assert scorer.score_one(replace(engaged, opted_out=True)).segment is Segment.OPTED_OUT


def test_reasons_say_what_the_learner_did_strongest_first() -> None:
    score = scorer.score_one(activity(52, question=3, offer_click=1, message=1, reaction=2, poll_answer=1))
    assert score.reasons == (
        "watched 52 of 60 min",
        "clicked the offer",
        "asked 3 questions",
        "answered a poll",
        "wrote a message",
        "reacted 2 times",
    )
    assert scorer.score_one(activity(0, attended=False)).reasons == ("did not attend",)
