"""The guards the dispatcher applies right before a send: quiet hours, live classes, frequency caps.

Opt-out and buyer suppression are checked by the runner when a step runs and again by the dispatcher;
holdouts and the one-live-coupon rule are settled when a step runs. What is checked here depends on the
moment of sending: the learner's local time, whether a class is live, how many promotions they already had.
Quiet hours and live classes hold a message back (it waits in the outbox and is looked at again), caps drop
it; either way the outbox records the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Config, StepConfig
from bot.config.campaigns import QuietHoursConfig
from bot.domain import Learner, OutboundMessage
from bot.ports import CapCheck
from campaigns.compose import learner_zone

QUIET_HOURS = "quiet hours"
CLASS_LIVE = "a class is live"


def in_quiet_hours(quiet: QuietHoursConfig, local: datetime) -> bool:
    now = local.time()
    if quiet.start < quiet.end:
        return quiet.start <= now < quiet.end
    return now >= quiet.start or now < quiet.end


def quiet_hours_end(quiet: QuietHoursConfig, local: datetime) -> datetime:
    """The next moment the window opens again, as a wall-clock time in the learner's zone."""
    tz = local.tzinfo
    assert isinstance(tz, ZoneInfo)
    end = datetime.combine(local.date(), quiet.end, tz)
    return end if end > local else datetime.combine(local.date() + timedelta(days=1), quiet.end, tz)


def cap_counters(learner_id: str, local: datetime) -> tuple[str, str]:
    """The learner's counters for their local calendar day and ISO week."""
    year, week, _ = local.isocalendar()
    return f"{learner_id}:d:{local:%Y-%m-%d}", f"{learner_id}:w:{year}-W{week:02d}"


@dataclass
class Guards:
    config: Config

    def _step(self, message: OutboundMessage) -> StepConfig | None:
        try:
            return self.config.step(message.campaign_id, message.step_id)
        except StopIteration:
            return None

    def _zone(self, message: OutboundMessage, learner: Learner | None) -> ZoneInfo:
        course = self.config.courses.get(message.course_id)
        if course is None:
            return ZoneInfo("UTC")
        return learner_zone(learner, course)

    def hold(
        self, message: OutboundMessage, learner: Learner | None, now: datetime, live_courses: set[str]
    ) -> tuple[datetime, str] | None:
        """Until when and why the message must wait, or None to send it now."""
        guards = self.config.guards
        step = self._step(message)
        if (
            message.promotional
            and guards.no_promotions_while_live
            and message.course_id in live_courses
            and not (step is not None and step.allow_during_live)
        ):
            return now + guards.live_recheck, CLASS_LIVE
        quiet = guards.quiet_hours
        if quiet.enabled and (message.promotional or quiet.applies_to == "all"):
            local = now.astimezone(self._zone(message, learner))
            if in_quiet_hours(quiet, local):
                return quiet_hours_end(quiet, local), QUIET_HOURS
        return None

    def cap(self, message: OutboundMessage, learner: Learner | None, now: datetime) -> CapCheck | None:
        guards = self.config.guards
        if not message.promotional or not (guards.daily_cap or guards.weekly_cap):
            return None
        day, week = cap_counters(message.learner_id, now.astimezone(self._zone(message, learner)))
        return CapCheck(day, week, guards.daily_cap, guards.weekly_cap)

    def cap_reason(self, verdict: str) -> str:
        guards = self.config.guards
        if verdict == "capped:day":
            return f"frequency cap: {guards.daily_cap} a day"
        return f"frequency cap: {guards.weekly_cap} a week"
