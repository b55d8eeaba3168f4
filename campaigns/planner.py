"""When each class step of a campaign should run, and the cron and sweep jobs that find the rest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from bot.config import Config, CourseConfig, StepConfig
from bot.config.campaigns import SWEEP_TRIGGERS
from bot.domain import ClassSession

ClassTrigger = str  # one of CLASS_TRIGGERS


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


def _grace(trigger: str, offset: timedelta) -> timedelta:
    if trigger == "before_class":
        return min(max(offset / 10, timedelta(minutes=1)), timedelta(hours=1))
    return timedelta(hours=24)


def class_job_id(course_id: str, class_id: str, campaign_id: str, step_id: str) -> str:
    return f"{course_id}:{class_id}:{campaign_id}:{step_id}"


def run_time(step: StepConfig, session: ClassSession) -> datetime | None:
    anchor = {
        "before_class": session.scheduled_at,
        "class_started": session.started_at,
        "class_ended": session.ended_at,
    }.get(step.trigger)
    if anchor is None:
        return None
    return anchor - step.offset if step.trigger == "before_class" else anchor + step.offset


def plan_step(campaign_id: str, step: StepConfig, session: ClassSession, now: datetime) -> PlannedStep | None:
    run_at = run_time(step, session)
    if run_at is None:
        return None
    grace = _grace(step.trigger, step.offset)
    if run_at + grace < now:
        return None
    return PlannedStep(
        job_id=class_job_id(session.course_id, session.id, campaign_id, step.id),
        run_at=run_at,
        course_id=session.course_id,
        class_id=session.id,
        campaign_id=campaign_id,
        step_id=step.id,
        grace=grace,
    )


def plan(config: Config, session: ClassSession, trigger: ClassTrigger, now: datetime) -> list[PlannedStep]:
    """The steps `trigger` sets off for `session`, skipping any whose time (plus grace) has passed."""
    planned = []
    for campaign in config.campaigns:
        if not campaign.enabled or campaign.course != session.course_id:
            continue
        for step in campaign.steps:
            if step.trigger != trigger:
                continue
            planned_step = plan_step(campaign.id, step, session, now)
            if planned_step is not None:
                planned.append(planned_step)
    return sorted(planned, key=lambda p: p.run_at)


def cron_trigger(step: StepConfig, course: CourseConfig) -> CronTrigger:
    return CronTrigger.from_crontab(step.cron, timezone=course.timezone)


RECURRING_GRACE = timedelta(hours=1)


def latest_fire(
    trigger: CronTrigger, now: datetime, lookback: timedelta = RECURRING_GRACE
) -> datetime | None:
    """The cron's last fire time at or before `now` within `lookback`: the occurrence a run stands for.

    Two schedulers (or a retried job) firing for the same moment compute the same occurrence, so they share
    idempotency keys; a job that fires later than `lookback` finds no occurrence and sends nothing.
    """
    fire = trigger.get_next_fire_time(None, now - lookback)
    latest = None
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
    return latest.astimezone(UTC) if latest is not None else None


def has_sweep_steps(config: Config) -> bool:
    return any(step.trigger in SWEEP_TRIGGERS for c in config.campaigns if c.enabled for step in c.steps)
