"""Who a campaign step is for, and how to reach them."""

from __future__ import annotations

from bot.config import StepConfig
from bot.domain import Learner, LearnerScore, Platform


def in_audience(step: StepConfig, score: LearnerScore | None, attended: bool) -> bool:
    """True when the learner matches any of the step's audiences."""
    for audience in step.audience:
        if audience == "everyone":
            return True
        if audience == "attended" and attended:
            return True
        if audience == "no_show" and not attended:
            return True
        if score is not None and score.segment.value == audience:
            return True
    return False


def private_route(learner: Learner, last_platform: str | None) -> tuple[Platform, str] | None:
    """The platform and chat to write to the learner privately: where they were last active, if possible.

    Telegram allows it only after the learner started the bot; any platform that refused for good
    (blocked, closed DMs) is skipped.
    """
    identities = sorted(learner.identities, key=lambda i: i.platform.value != last_platform)
    for identity in identities:
        platform = identity.platform
        if platform in learner.unreachable or platform is Platform.WEB:
            continue
        if platform is Platform.TELEGRAM and platform not in learner.reachable:
            continue
        return platform, identity.user_id
    return None
