"""Viewer statistics of a class, as the teachers' /stats shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain import ClassSession, InteractionKind
from bot.ports import Activity, Clock
from stream_relay.ports import RelayState

# A learner counts as watching now when their page sent a counted heartbeat within this window.
LIVE_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class ViewerStats:
    course_id: str
    class_id: str
    live_viewers: int  # learners with a counted heartbeat in the last minute
    watchers: int  # learners with any counted watch time in this class
    average_watch_seconds: float  # mean watch time of those watchers so far (0 when nobody watched)
    joined: int  # learners who opened their personal link
    learners: int  # learners of the course

    @property
    def joined_share(self) -> float:
        """Share of the course's learners who opened their link, in [0, 1]."""
        return self.joined / self.learners if self.learners else 0.0


async def viewer_stats(
    session: ClassSession, activity: Activity, state: RelayState, now: datetime
) -> ViewerStats:
    live = await state.live_viewers(session.course_id, session.id, now - LIVE_WINDOW)
    rows = await activity.for_class(session)
    watched = [row.watched_seconds for row in rows if row.watched_seconds > 0]
    return ViewerStats(
        course_id=session.course_id,
        class_id=session.id,
        live_viewers=live,
        watchers=len(watched),
        average_watch_seconds=sum(watched) / len(watched) if watched else 0.0,
        joined=sum(1 for row in rows if row.count(InteractionKind.LINK_CLICK) > 0),
        learners=len(rows),
    )


class ViewerLines:
    """The relay's figures as lines of the teachers' /stats (a `StatsExtra`)."""

    def __init__(self, activity: Activity, state: RelayState, clock: Clock) -> None:
        self._activity = activity
        self._state = state
        self._clock = clock

    async def lines(self, session: ClassSession) -> list[str]:
        stats = await viewer_stats(session, self._activity, self._state, self._clock.now())
        return [
            f"Watching now: {stats.live_viewers} · watched so far: {stats.watchers}, "
            f"{stats.average_watch_seconds / 60:.0f} min on average · opened their link: {stats.joined} "
            f"of {stats.learners} ({stats.joined_share:.0%})"
        ]
