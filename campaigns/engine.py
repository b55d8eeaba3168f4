"""The campaign engine: class events, rescored segments, cron lines and the periodic sweep in; steps out.

Each trigger has its evaluation point: class steps are planned as date jobs when a class is scheduled,
goes live or ends; `entered_segment` is evaluated after every rescore (a learner's previous segment is
kept to see who entered); `recurring` steps are cron jobs in the course's time zone; `inactive`,
`offer_no_purchase` and `coupon_expiring` are found by a periodic sweep job.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import CampaignConfig, Config, StepConfig
from bot.config.campaigns import SWEEP_TRIGGERS
from bot.domain import ClassSession, LearnerScore
from bot.ports import Activity, Clock
from campaigns.planner import (
    cron_trigger,
    has_sweep_steps,
    latest_fire,
    plan,
)
from campaigns.ports import CampaignState, ExpiringCoupons
from campaigns.runner import StepOutcome, StepRunner, Target
from campaigns.scheduler import CampaignScheduler

log = logging.getLogger(__name__)
RECURRING_PREFIX = "recurring:"
_MS = timedelta(milliseconds=1)


def recurring_job_id(campaign_id: str, step_id: str) -> str:
    return f"{RECURRING_PREFIX}{campaign_id}:{step_id}"


@dataclass
class CampaignEngine:
    config: Config
    scheduler: CampaignScheduler
    clock: Clock
    runner: StepRunner
    activity: Activity
    state: CampaignState
    coupons: ExpiringCoupons

    def _steps(self, *triggers: str) -> list[tuple[CampaignConfig, StepConfig]]:
        return [
            (campaign, step)
            for campaign in self.config.campaigns
            if campaign.enabled
            for step in campaign.steps
            if step.trigger in triggers
        ]

    # --- class events (the teachers' commands) ---
    async def class_scheduled(self, session: ClassSession) -> int:
        return self._plan(session, "before_class")

    async def class_started(self, session: ClassSession) -> int:
        # Reminders still pending (the teacher started early) would now be wrong.
        self.scheduler.cancel(f"{session.course_id}:{session.id}:")
        return self._plan(session, "class_started")

    async def class_ended(self, session: ClassSession) -> int:
        return self._plan(session, "class_ended")

    def _plan(self, session: ClassSession, trigger: str) -> int:
        steps = plan(self.config, session, trigger, self.clock.now())
        for step in steps:
            self.scheduler.add(step)
        return len(steps)

    # --- what the stored jobs call ---
    async def run(self, course_id: str, class_id: str, campaign_id: str, step_id: str) -> StepOutcome:
        return await self.runner.run(course_id, class_id, campaign_id, step_id)

    async def recurring(self, campaign_id: str, step_id: str) -> StepOutcome:
        try:
            campaign = self.config.campaign(campaign_id)
            step = self.config.step(campaign_id, step_id)
        except StopIteration:
            log.warning("recurring step %s/%s is no longer configured; not run", campaign_id, step_id)
            return StepOutcome()
        course = self.config.courses[campaign.course]
        fired = latest_fire(cron_trigger(step, course), self.clock.now())
        if fired is None:
            log.warning("recurring step %s/%s ran too far from its cron time; skipped", campaign_id, step_id)
            return StepOutcome()
        return await self.runner.run_recurring(campaign.course, campaign_id, step, f"{fired:%Y%m%dT%H%M}")

    def sync_jobs(self) -> None:
        """Cron jobs for recurring steps and the sweep job, as the config says; unchanged ones keep time."""
        wanted = set()
        for campaign, step in self._steps("recurring"):
            job_id = recurring_job_id(campaign.id, step.id)
            wanted.add(job_id)
            trigger = cron_trigger(step, self.config.courses[campaign.course])
            self.scheduler.add_recurring(job_id, trigger, campaign.id, step.id)
        for job in self.scheduler.jobs():
            if job.id.startswith(RECURRING_PREFIX) and job.id not in wanted:
                job.remove()
        self.scheduler.ensure_sweep(
            self.config.campaign_engine.sweep_every if has_sweep_steps(self.config) else None
        )

    # --- learner state ---
    async def scores_changed(self, session: ClassSession, scores: Sequence[LearnerScore]) -> int:
        """After a rescore: run entered_segment steps for learners whose segment changed into theirs."""
        new = {s.learner_id: s.segment.value for s in scores}
        before = await self.state.swap_segments(session.course_id, new)
        entered = {lid: seg for lid, seg in new.items() if before.get(lid) != seg}
        enqueued = 0
        now = self.clock.now()
        for campaign, step in self._steps("entered_segment"):
            if campaign.course != session.course_id:
                continue
            targets = [Target(lid, session.id) for lid, seg in entered.items() if seg == step.segment]
            if targets:
                outcome = await self.runner.run_targets(
                    campaign.id, step, session, targets, due=now + step.offset
                )
                enqueued += outcome.enqueued
        return enqueued

    async def sweep(self, now: datetime | None = None) -> Counter[str]:
        """Find learners due for inactive, offer_no_purchase and coupon_expiring steps, and run them.

        A learner stays due for `sweep_window` (so a sweep missed while the process was down is made up);
        the runner remembers whom it decided about, so each is sent to (or counted) once.
        """
        now = now or self.clock.now()
        window = self.config.campaign_engine.sweep_window
        enqueued: Counter[str] = Counter()
        for campaign, step in self._steps(*SWEEP_TRIGGERS):
            course_id = campaign.course
            targets: list[Target] = []
            # Moments (last activity, offer click, expiry) whose step falls due now. The mark remembers how
            # far the last sweep looked, so each moment is looked at once; after a gap, at most `window`
            # is made up.
            expiring = step.trigger == "coupon_expiring"
            horizon = now + step.offset if expiring else now - step.offset
            mark = await self.state.sweep_mark(campaign.id, step.id)
            start = max(horizon - window, mark) if mark is not None else horizon - window
            if expiring:
                for code, learner_id in await self.coupons.expiring(course_id, start, horizon + _MS):
                    targets.append(Target(learner_id, f"coupon-{code}", code))
            else:
                field = "last_ts" if step.trigger == "inactive" else "offer_click_ts"
                tag = "idle" if step.trigger == "inactive" else "click"
                moments = await self.state.moments_between(course_id, field, start, horizon + _MS)
                targets += [Target(lid, f"{tag}-{ms}") for lid, ms in sorted(moments.items())]
            if targets:
                session = await self.runner.context_session(course_id)
                outcome = await self.runner.run_targets(campaign.id, step, session, targets)
                enqueued[f"{campaign.id}/{step.id}"] += outcome.enqueued
            await self.state.set_sweep_mark(campaign.id, step.id, horizon + _MS)
        return enqueued
