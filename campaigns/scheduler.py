"""The campaign scheduler: APScheduler 3's AsyncIOScheduler on a Redis job store.

Jobs are data (an importable function reference and keyword arguments), so a restart loses no schedule.
`live` mode lets APScheduler fire jobs on the wall clock; `manual` mode keeps it paused and lets the owner
run whatever is due at a given (simulated) time: the demo and the tests move time without sleeping.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from apscheduler.job import Job
from apscheduler.jobstores.base import BaseJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import SystemClock
from bot.ports import Clock
from campaigns import jobs
from campaigns.planner import PlannedStep

log = logging.getLogger(__name__)

# live: fires on the wall clock; standby: starts paused until it is told to lead (see leadership.py);
# manual: never fires by itself, the owner runs what is due at a simulated time.
Mode = Literal["live", "standby", "manual"]
SWEEP_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class CampaignScheduler:
    def __init__(
        self, jobstore: BaseJobStore, runtime: str, mode: Mode = "live", clock: Clock | None = None
    ) -> None:
        self.mode = mode
        self._runtime = runtime
        # Recurring and sweep jobs take their first run time from this clock, not APScheduler's wall
        # clock, so that simulated time (manual mode) reaches them.
        self._clock = clock or SystemClock()
        self._scheduler = AsyncIOScheduler(
            jobstores={"default": jobstore},
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1},
        )

    def start(self) -> None:
        """Start (inside a running event loop); in standby and manual mode the scheduler stays paused."""
        self._scheduler.start(paused=self.mode != "live")

    @property
    def active(self) -> bool:
        """True while the scheduler fires jobs by itself (started and not paused)."""
        return bool(self._scheduler.state == STATE_RUNNING)

    def pause(self) -> None:
        self._scheduler.pause()

    def resume(self) -> None:
        self._scheduler.resume()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def add(self, step: PlannedStep) -> None:
        # replace_existing: planning the same class again moves the job instead of adding a second one.
        self._scheduler.add_job(
            jobs.RUN_STEP,
            trigger="date",
            run_date=step.run_at,
            id=step.job_id,
            replace_existing=True,
            misfire_grace_time=max(int(step.grace.total_seconds()), 1),
            kwargs={
                "runtime": self._runtime,
                "course_id": step.course_id,
                "class_id": step.class_id,
                "campaign_id": step.campaign_id,
                "step_id": step.step_id,
            },
        )

    def add_recurring(self, job_id: str, trigger: CronTrigger, campaign_id: str, step_id: str) -> bool:
        """A cron job for a recurring step; an existing job with the same cron line keeps its next time."""
        job = self._scheduler.get_job(job_id)
        if job is not None and str(job.trigger) == str(trigger):
            return False
        self._scheduler.add_job(
            jobs.RUN_RECURRING,
            trigger=trigger,
            id=job_id,
            next_run_time=trigger.get_next_fire_time(None, self._clock.now()),
            replace_existing=True,
            misfire_grace_time=3600,
            kwargs={"runtime": self._runtime, "campaign_id": campaign_id, "step_id": step_id},
        )
        return True

    def ensure_sweep(self, every: timedelta | None, job_id: str = "sweep") -> None:
        """The periodic sweep for learner-state triggers; None removes it. An unchanged one keeps its time."""
        job = self._scheduler.get_job(job_id)
        if every is None:
            if job is not None:
                job.remove()
            return
        # Aligned to whole multiples of the period since a fixed epoch (an hourly sweep runs at xx:00), so
        # every process and every replay sweeps at the same moments.
        trigger = IntervalTrigger(seconds=int(every.total_seconds()), start_date=SWEEP_EPOCH, timezone=UTC)
        if job is not None and job.trigger.interval == trigger.interval:
            return
        self._scheduler.add_job(
            jobs.SWEEP,
            trigger=trigger,
            id=job_id,
            next_run_time=trigger.get_next_fire_time(None, self._clock.now()),
            replace_existing=True,
            misfire_grace_time=max(int(every.total_seconds()), 1),
            kwargs={"runtime": self._runtime},
        )

    def get(self, job_id: str) -> Job | None:
        return self._scheduler.get_job(job_id)

    def jobs(self) -> list[Job]:
        return list(self._scheduler.get_jobs())

    def cancel(self, job_id_prefix: str) -> int:
        """Remove every job whose id starts with the prefix (e.g. all jobs of one class)."""
        doomed = [job for job in self.jobs() if job.id.startswith(job_id_prefix)]
        for job in doomed:
            job.remove()
        return len(doomed)

    async def run_due(self, now: datetime) -> int:
        """Run, in time order, every job due at `now` (manual mode). Returns how many ran."""
        ran = 0
        for job in sorted(self.jobs(), key=_next_run):
            when = job.next_run_time
            if when is None or when > now:
                continue
            grace = job.misfire_grace_time
            if grace is not None and (now - when).total_seconds() > grace:
                log.warning("job %s missed its time %s by more than %ss; skipped", job.id, when, grace)
                job.remove()
                continue
            kwargs: dict[str, Any] = dict(job.kwargs)
            # Run first, remove (or move on) after: a crash in between runs the step again, which its
            # idempotency keys make harmless; removing first could lose it.
            await job.func(**kwargs)
            following = (
                None if isinstance(job.trigger, DateTrigger) else job.trigger.get_next_fire_time(when, now)
            )
            if following is None:
                job.remove()
            else:
                job.modify(next_run_time=following)
            ran += 1
        return ran


def _next_run(job: Job) -> datetime:
    return job.next_run_time or datetime.max.replace(tzinfo=UTC)
