"""A live class: scheduled, then live, then ended."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.errors import InvalidTransition


class ClassState(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class ClassSession:
    id: str
    course_id: str
    title: str
    state: ClassState
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    stream_url: str = ""
    planned_minutes: int = 60

    def go_live(self, stream_url: str, at: datetime, title: str | None = None) -> ClassSession:
        if self.state is ClassState.ENDED:
            raise InvalidTransition(f"class {self.title!r} has already ended")
        if self.state is ClassState.LIVE:
            # Going live again only changes the link (the teacher moved to another stream).
            return replace(self, stream_url=stream_url, title=title or self.title)
        return replace(
            self, state=ClassState.LIVE, stream_url=stream_url, started_at=at, title=title or self.title
        )

    def end(self, at: datetime) -> ClassSession:
        if self.state is not ClassState.LIVE:
            raise InvalidTransition(f"class {self.title!r} is not live (it is {self.state.value})")
        return replace(self, state=ClassState.ENDED, ended_at=at)

    @property
    def minutes(self) -> float:
        """How long the class ran, or was planned to run while it has not ended."""
        if self.started_at and self.ended_at:
            return max((self.ended_at - self.started_at) / timedelta(minutes=1), 1.0)
        return float(self.planned_minutes)

    def minutes_at(self, now: datetime) -> float:
        """Class minutes so far: a live class is measured against the time it has run, not its plan."""
        if self.state is ClassState.LIVE and self.started_at:
            return max((now - self.started_at) / timedelta(minutes=1), 1.0)
        return self.minutes
