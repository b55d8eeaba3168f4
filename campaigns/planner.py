"""When each campaign step of a class should run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import Config
from bot.config.schema import Trigger
from bot.domain import ClassSession


@dataclass(frozen=True, slots=True)
class PlannedStep:
    job_id: str
    run_at: datetime
    course_id: str
    class_id: str
    campaign_id: str
    step_id: str
    # How late the step may still run (after a restart, say): a reminder "in one hour" sent after the
    # class started would be wrong, a follow-up a little late is fine.
    grace: timedelta


def _grace(trigger: Trigger, offset: timedelta) -> timedelta:
    if trigger == "before_class":
        return min(max(offset / 10, timedelta(minutes=1)), timedelta(hours=1))
    return timedelta(hours=24)


def plan(config: Config, session: ClassSession, trigger: Trigger, now: datetime) -> list[PlannedStep]:
    """The steps `trigger` sets off for `session`, skipping any whose time (plus grace) has passed."""
    anchor = {
        "before_class": session.scheduled_at,
        "class_started": session.started_at,
        "class_ended": session.ended_at,
    }[trigger]
    if anchor is None:
        return []
    planned = []
    for campaign in config.campaigns:
        if not campaign.enabled or campaign.course != session.course_id:
            continue
        for step in campaign.steps:
            if step.trigger != trigger:
                continue
            run_at = anchor - step.offset if trigger == "before_class" else anchor + step.offset
            grace = _grace(trigger, step.offset)
            if run_at + grace < now:
                continue
            planned.append(
                PlannedStep(
                    job_id=f"{session.course_id}:{session.id}:{campaign.id}:{step.id}",
                    run_at=run_at,
                    course_id=session.course_id,
                    class_id=session.id,
                    campaign_id=campaign.id,
                    step_id=step.id,
                    grace=grace,
                )
            )
    return sorted(planned, key=lambda p: p.run_at)
