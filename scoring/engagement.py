"""The rule-based engagement measures, vectorised: the seeds' engagement score and the bounded index.

Same formulas as `RuleScorer` (scoring/rules.py), over whole columns, for batch rescoring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bot.config import ScoringConfig

Floats = NDArray[np.float64]


def engagement_index(
    config: ScoringConfig, features: pd.DataFrame, class_minutes: Floats
) -> tuple[Floats, Floats]:
    """(engagement, index) of learners given their store features (features.py) and minutes of class held.

    Engagement is the seeds' (watched minutes + interactions) / class minutes; the index is RuleScorer's
    bounded mix of watching, participation and intent, in [0, 1].
    """
    w, p = config.weights, config.points

    def column(name: str) -> Floats:
        values: Floats = features[name].to_numpy(np.float64)
        return values

    watched = column("watched_minutes")
    watch = np.minimum(
        np.divide(watched, class_minutes, out=np.zeros_like(watched), where=class_minutes > 0), 1.0
    )
    points = (
        p.message * column("messages")
        + p.question * column("questions")
        + p.reaction * column("reactions")
        + p.poll_answer * column("poll_answers")
    )
    participation = 1.0 - np.exp(-points / p.saturation)
    intent = np.where(column("offer_clicks") > 0, 1.0, np.where(column("link_clicks") > 0, 0.5, 0.0))
    index = (w.watch * watch + w.participation * participation + w.intent * intent) / (
        w.watch + w.participation + w.intent
    )
    interactions = sum(
        column(c)
        for c in ("messages", "questions", "reactions", "poll_answers", "link_clicks", "offer_clicks")
    )
    engagement = np.divide(
        watched + interactions, class_minutes, out=np.zeros_like(watched), where=class_minutes > 0
    )
    return engagement, index
