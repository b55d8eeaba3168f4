"""The campaign engine as the teachers' commands see it: class events in, planned steps out."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Config
from bot.config.schema import Trigger
from bot.domain import ClassSession
from bot.ports import Clock
from campaigns.planner import plan
from campaigns.scheduler import CampaignScheduler


@dataclass
class CampaignEngine:
    config: Config
    scheduler: CampaignScheduler
    clock: Clock

    async def class_scheduled(self, session: ClassSession) -> int:
        return self._plan(session, "before_class")

    async def class_started(self, session: ClassSession) -> int:
        # Reminders still pending (the teacher started early) would now be wrong.
        self.scheduler.cancel(f"{session.course_id}:{session.id}:")
        return self._plan(session, "class_started")

    async def class_ended(self, session: ClassSession) -> int:
        return self._plan(session, "class_ended")

    def _plan(self, session: ClassSession, trigger: Trigger) -> int:
        steps = plan(self.config, session, trigger, self.clock.now())
        for step in steps:
            self.scheduler.add(step)
        return len(steps)
