"""Watch time from voice and stage channels: who sits in a class channel, and how long a live class they saw.

Discord reports joins, moves and leaves as voice-state updates, with no timestamp, possibly repeated, and
sometimes stale (the disconnect of an old voice session arriving after the person reconnected). This tracker
turns them into `watch_heartbeat` interactions with `seconds`, credited only inside the class's live window:

- a person is seated from the first update that puts them, not deafened, in a class channel of the course;
  a repeat of that update changes nothing, a move between the course's class channels keeps the seat;
- a leave ends the seat only if it concerns the seat's own voice session, so a stale leave is ignored (the
  session ids come from discord.py's cached voice state, renewed when a reconnect snapshot replaces it);
- time is credited on leave and at every flush for people still seated, so a crash loses at most one flush
  period; credit never covers the same second twice, never runs backwards, never goes past the class's end.

Event ids are built from the class, the user and the credited interval (or voice session), so replaying the
same updates gives the same ids and intake drops the copies. Pure: no I/O, time comes in with each call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain import ClassSession, Interaction, InteractionKind, Platform


@dataclass
class _Seat:
    course_id: str
    learner_id: str
    channel_id: int
    session_id: str
    since: datetime
    class_id: str = ""  # the class credited so far
    credited_until: datetime | None = None
    join_noted: str = ""  # the class whose JOIN was recorded


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class WatchTime:
    def __init__(self) -> None:
        self._seats: dict[int, _Seat] = {}  # by Discord user id: one can be in one voice channel at a time

    def course_of(self, user_id: int) -> str | None:
        seat = self._seats.get(user_id)
        return seat.course_id if seat else None

    def seated(self, course_id: str) -> set[int]:
        return {user for user, seat in self._seats.items() if seat.course_id == course_id}

    def courses(self) -> set[str]:
        return {seat.course_id for seat in self._seats.values()}

    def class_of(self, course_id: str) -> str:
        """The class whose time is being credited in the course ("" when none yet)."""
        return next((s.class_id for s in self._seats.values() if s.course_id == course_id and s.class_id), "")

    def joined(
        self,
        *,
        user_id: int,
        learner_id: str,
        course_id: str,
        channel_id: int,
        session_id: str,
        at: datetime,
        session: ClassSession | None,
    ) -> list[Interaction]:
        """`user_id` is in a class channel of `course_id` (and can hear): seat them, or keep their seat."""
        events: list[Interaction] = []
        seat = self._seats.get(user_id)
        if seat is not None and seat.course_id != course_id:
            events += self.left(user_id=user_id, session_id=None, at=at, session=None)
            seat = None
        if seat is None:
            seat = _Seat(course_id, learner_id, channel_id, session_id, since=at)
            self._seats[user_id] = seat
        else:
            # A repeat, a move to another class channel of the course, or a reconnect: the seat goes on.
            seat.channel_id, seat.session_id, seat.learner_id = channel_id, session_id, learner_id
        return events + self._credit(user_id, seat, at, session)

    def relabel(self, user_id: int, learner_id: str) -> None:
        """The person's learner id now (it changes when they link accounts): their time is credited to it."""
        seat = self._seats.get(user_id)
        if seat is not None:
            seat.learner_id = learner_id

    def left(
        self, *, user_id: int, session_id: str | None, at: datetime, session: ClassSession | None
    ) -> list[Interaction]:
        """`user_id` stopped watching (left, moved away, deafened); session_id None: any of their sessions."""
        seat = self._seats.get(user_id)
        if seat is None or (session_id is not None and session_id != seat.session_id):
            return []  # not seated, or a stale update from an earlier voice session
        events = self._credit(user_id, seat, at, session)
        del self._seats[user_id]
        if session is not None and session.ended_at is None and seat.join_noted == session.id:
            events.append(
                self._event(InteractionKind.LEAVE, f"vl:{session.id}:{user_id}:{seat.session_id}", seat, at)
            )
        return events

    def flush(self, course_id: str, at: datetime, session: ClassSession | None) -> list[Interaction]:
        """Credit everyone still seated in the course up to `at` (or to the class's end)."""
        events: list[Interaction] = []
        for user_id, seat in list(self._seats.items()):
            if seat.course_id == course_id:
                events += self._credit(user_id, seat, at, session)
        return events

    def _credit(
        self, user_id: int, seat: _Seat, at: datetime, session: ClassSession | None
    ) -> list[Interaction]:
        if session is None or session.course_id != seat.course_id or session.started_at is None:
            return []
        if seat.class_id != session.id:
            seat.class_id, seat.credited_until = session.id, None
        present_from = max(seat.since, session.started_at)
        until = min(at, session.ended_at) if session.ended_at else at
        if until < present_from:
            return []  # seated only after the class ended, or an update from before they sat down
        events: list[Interaction] = []
        if seat.join_noted != session.id:
            seat.join_noted = session.id
            event_id = f"vj:{session.id}:{user_id}:{seat.session_id}"
            events.append(self._event(InteractionKind.JOIN, event_id, seat, present_from, where="voice"))
        start = max(present_from, seat.credited_until or present_from)
        seconds = int((until - start).total_seconds())
        if seconds >= 1:
            # Whole seconds only; the remainder is credited with the next interval, never lost, never doubled.
            seat.credited_until = start + timedelta(seconds=seconds)
            event_id = f"vw:{session.id}:{user_id}:{_ms(start)}"
            events.append(
                self._event(InteractionKind.WATCH_HEARTBEAT, event_id, seat, until, seconds=seconds)
            )
        return events

    @staticmethod
    def _event(
        kind: InteractionKind, event_id: str, seat: _Seat, at: datetime, *, seconds: int = 0, where: str = ""
    ) -> Interaction:
        payload: dict[str, str | int | float] = {"seconds": seconds} if seconds else {}
        if where:
            payload["where"] = where
        return Interaction(
            kind=kind,
            platform=Platform.DISCORD,
            event_id=event_id,
            course_id=seat.course_id,
            learner_id=seat.learner_id,
            at=at,
            chat_id=str(seat.channel_id),
            class_id=seat.class_id,
            payload=payload,
        )
