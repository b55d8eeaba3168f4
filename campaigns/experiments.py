"""Holdouts and variants: a stable arm per learner and step, drawn from a hash, never from a random state.

The same learner lands in the same arm of a step on every run, in every process, after every restart, so
a retried step never moves anyone from the holdout into a treated arm (or back).
"""

from __future__ import annotations

import hashlib

from bot.config import StepConfig

HOLDOUT = "holdout"


def _uniforms(campaign_id: str, step_id: str, learner_id: str) -> tuple[float, float]:
    digest = hashlib.sha256(f"{campaign_id}:{step_id}:{learner_id}".encode()).digest()
    scale = float(2**64)
    return int.from_bytes(digest[:8], "big") / scale, int.from_bytes(digest[8:16], "big") / scale


def arm(campaign_id: str, step: StepConfig, learner_id: str) -> str:
    """ "holdout", a variant id, or "" for a step without variants."""
    first, second = _uniforms(campaign_id, step.id, learner_id)
    if first < step.holdout:
        return HOLDOUT
    if not step.variants:
        return ""
    # The second draw, independent of the first, picks the variant by weight.
    point = second * sum(v.weight for v in step.variants)
    for variant in step.variants:
        point -= variant.weight
        if point < 0:
            return variant.id
    return step.variants[-1].id
