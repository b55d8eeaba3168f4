"""Applying a changed configuration to a running app without a restart.

Jobs of steps that are gone (or whose campaign was disabled) are cancelled; jobs whose step changed its
trigger or offset are moved; jobs of unchanged steps keep their time; class steps that are new get jobs for
the classes they concern. Recurring and sweep jobs follow the config (an unchanged cron keeps its next
run). A new config that would need a restart (another store) is refused and the old one stays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.app import App
from bot.config import Config, StepConfig
from bot.config.campaigns import CLASS_TRIGGERS
from campaigns.fallback import dispatcher_fallback
from campaigns.planner import class_job_id, plan_step

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReloadReport:
    applied: bool
    problems: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()  # job ids
    moved: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()

    def summary(self) -> str:
        if not self.applied:
            return "refused: " + "; ".join(self.problems)
        return (
            f"applied: {len(self.cancelled)} job(s) cancelled, {len(self.moved)} moved, "
            f"{len(self.added)} added, {len(self.kept)} kept"
        )


def refused(problems: list[str]) -> ReloadReport:
    for problem in problems:
        log.error("config reload refused: %s", problem)
    return ReloadReport(False, tuple(problems))


async def reload_config(app: App, new: Config) -> ReloadReport:
    old = app.config
    if new.storage != old.storage:
        return refused(["storage: another store or key prefix needs a restart"])
    now = app.clock.now()
    cancelled, moved, kept, added = [], [], [], []
    known: set[tuple[str, str, str]] = set()  # (class, campaign, step) with a job
    for job in app.scheduler.jobs():
        kwargs = job.kwargs
        if "class_id" not in kwargs:
            continue  # recurring and sweep jobs: synced below
        course_id, class_id = kwargs["course_id"], kwargs["class_id"]
        campaign_id, step_id = kwargs["campaign_id"], kwargs["step_id"]
        known.add((class_id, campaign_id, step_id))
        step = _step(new, campaign_id, step_id)
        before = _step(old, campaign_id, step_id)
        if step is None:
            job.remove()
            cancelled.append(job.id)
            continue
        if before is not None and (step.trigger, step.offset) == (before.trigger, before.offset):
            kept.append(job.id)
            continue
        session = await app.store.classes.get(course_id, class_id)
        planned = plan_step(campaign_id, step, session, now) if session is not None else None
        if planned is None:
            job.remove()
            cancelled.append(job.id)
        else:
            job.remove()
            app.scheduler.add(planned)
            moved.append(planned.job_id)
    _swap(app, new)
    for campaign in new.campaigns:
        if not campaign.enabled:
            continue
        sessions = await app.store.classes.all(campaign.course)
        for step in campaign.steps:
            if step.trigger not in CLASS_TRIGGERS or _step(old, campaign.id, step.id) is not None:
                continue
            for session in sessions:
                if (session.id, campaign.id, step.id) in known:
                    continue
                planned = plan_step(campaign.id, step, session, now)
                if planned is not None and app.scheduler.get(planned.job_id) is None:
                    app.scheduler.add(planned)
                    added.append(class_job_id(session.course_id, session.id, campaign.id, step.id))
    app.engine.sync_jobs()
    report = ReloadReport(True, (), tuple(cancelled), tuple(moved), tuple(added), tuple(kept))
    log.warning("configuration reloaded: %s", report.summary())
    return report


def _step(config: Config, campaign_id: str, step_id: str) -> StepConfig | None:
    campaign = next((c for c in config.campaigns if c.id == campaign_id and c.enabled), None)
    if campaign is None:
        return None
    return next((s for s in campaign.steps if s.id == step_id), None)


def _swap(app: App, new: Config) -> None:
    """Every part that reads the config gets the new one (they hold it by reference, not by copy)."""
    app.config = new
    for part in (app.runner, app.engine, app.teacher, app.learner, app.purchases):
        part.config = new
    if app.dispatcher.guards is not None:
        app.dispatcher.guards.config = new
    app.dispatcher.fallback = dispatcher_fallback(new, app.store.learners)
