"""The rule-based engagement measures, vectorised: the seeds' engagement score and the bounded index.

Same formulas as `RuleScorer` (scoring/rules.py), over whole columns, for batch rescoring.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from bot.config import ScoringConfig

Floats = NDArray[np.float64]


def engagement_index(
    config: ScoringConfig,
    watched_minutes: Floats,
    class_minutes: Floats,
    messages: Floats,
    questions: Floats,
    reactions: Floats,
    poll_answers: Floats,
    link_clicks: Floats,
    offer_clicks: Floats,
) -> tuple[Floats, Floats]:
    """(engagement, index): (watched minutes + interactions) / class minutes, and the index in [0, 1]."""
    w, p = config.weights, config.points
    total = w.watch + w.participation + w.intent
    watch = np.minimum(
        np.divide(
            watched_minutes, class_minutes, out=np.zeros_like(watched_minutes), where=class_minutes > 0
        ),
        1.0,
    )
    points = (
        p.message * messages + p.question * questions + p.reaction * reactions + p.poll_answer * poll_answers
    )
    participation = 1.0 - np.exp(-points / p.saturation)
    intent = np.where(offer_clicks > 0, 1.0, np.where(link_clicks > 0, 0.5, 0.0))
    index = (w.watch * watch + w.participation * participation + w.intent * intent) / total
    interactions = messages + questions + reactions + poll_answers + link_clicks + offer_clicks
    engagement = np.divide(
        watched_minutes + interactions,
        class_minutes,
        out=np.zeros_like(watched_minutes),
        where=class_minutes > 0,
    )
    return engagement, index
