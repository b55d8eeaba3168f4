"""Recordings of a course's history: JSONL of learner profiles, class sessions and interactions.

`classpulse events export` writes one from the store; `classpulse campaigns preview --events FILE` replays
it. Each line is one JSON object with a "type": "learner", "class" or "interaction". Times are ISO 8601.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from adapters.redis import RedisStore
from adapters.redis.decoded import str_map
from bot.domain import ClassSession, ClassState, Identity, Interaction, InteractionKind, Learner, Platform


class RecordingError(Exception):
    """A recording line that cannot be read; the message names the file and line."""


@dataclass
class Recording:
    learners: list[tuple[Learner, list[str]]] = field(default_factory=list)  # profile, enrolled courses
    classes: list[ClassSession] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)

    def moments(self) -> list[datetime]:
        times = [i.at for i in self.interactions]
        for s in self.classes:
            times += [t for t in (s.scheduled_at, s.started_at, s.ended_at) if t is not None]
        return sorted(times)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    when = datetime.fromisoformat(value)
    if when.tzinfo is None:  # a replay runs on real calendars (quiet hours, reminders): the zone matters
        raise ValueError(f"{value!r} has no time zone (e.g. 2026-11-06T09:00+00:00)")
    return when


def learner_line(learner: Learner, courses: list[str]) -> dict[str, Any]:
    return {
        "type": "learner",
        "id": learner.id,
        "name": learner.name,
        "language": learner.language,
        "timezone": learner.timezone,
        "identities": [i.key for i in learner.identities],
        "opted_out": learner.opted_out,
        "reachable": sorted(p.value for p in learner.reachable),
        "unreachable": sorted(p.value for p in learner.unreachable),
        "courses": courses,
    }


def class_line(session: ClassSession) -> dict[str, Any]:
    return {
        "type": "class",
        "course": session.course_id,
        "id": session.id,
        "title": session.title,
        "state": session.state.value,
        "scheduled_at": _iso(session.scheduled_at),
        "started_at": _iso(session.started_at),
        "ended_at": _iso(session.ended_at),
        "stream_url": session.stream_url,
        "planned_minutes": session.planned_minutes,
    }


def interaction_line(event: Interaction) -> dict[str, Any]:
    return {
        "type": "interaction",
        "kind": event.kind.value,
        "platform": event.platform.value,
        "event_id": event.event_id,
        "course": event.course_id,
        "learner": event.learner_id,
        "at": event.at.isoformat(),
        "chat": event.chat_id,
        "class": event.class_id,
        "payload": dict(event.payload),
    }


def parse_line(data: dict[str, Any], recording: Recording) -> None:
    kind = data.get("type")
    if kind == "learner":
        learner = Learner(
            id=data["id"],
            name=data.get("name", ""),
            language=data.get("language", ""),
            identities=tuple(Identity.parse(k) for k in data.get("identities", [])),
            opted_out=bool(data.get("opted_out", False)),
            reachable=frozenset(Platform(p) for p in data.get("reachable", [])),
            unreachable=frozenset(Platform(p) for p in data.get("unreachable", [])),
            timezone=data.get("timezone", ""),
        )
        recording.learners.append((learner, list(data.get("courses", []))))
    elif kind == "class":
        recording.classes.append(
            ClassSession(
                id=data["id"],
                course_id=data["course"],
                title=data.get("title", ""),
                state=ClassState(data["state"]),
                scheduled_at=_time(data.get("scheduled_at")),
                started_at=_time(data.get("started_at")),
                ended_at=_time(data.get("ended_at")),
                stream_url=data.get("stream_url", ""),
                planned_minutes=int(data.get("planned_minutes", 60)),
            )
        )
    elif kind == "interaction":
        at = _time(data["at"])
        assert at is not None
        recording.interactions.append(
            Interaction(
                InteractionKind(data["kind"]),
                Platform(data["platform"]),
                data["event_id"],
                data["course"],
                data["learner"],
                at,
                chat_id=data.get("chat", ""),
                class_id=data.get("class", ""),
                payload=data.get("payload", {}),
            )
        )
    else:
        raise ValueError(f"unknown type {kind!r} (learner, class or interaction)")


def read_recording(path: Path) -> Recording:
    recording = Recording()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read the file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise RecordingError(f"{path}: not a text file (a recording is JSON lines in UTF-8)") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            parse_line(data, recording)
        except (ValueError, KeyError, TypeError, AssertionError) as exc:
            what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__
            raise RecordingError(f"{path}:{number}: {what}") from None
    return recording


def write_lines(lines: Iterable[dict[str, Any]], path: Path) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
    return count


async def _events(store: RedisStore, course_id: str) -> list[Interaction]:
    entries = cast(list[tuple[str, dict[str, str]]], await store.client.xrange(store.keys.events(course_id)))
    out = []
    for _, raw in entries:
        fields = str_map(raw)
        out.append(
            Interaction(
                InteractionKind(fields["k"]),
                Platform(fields["p"]),
                fields["e"],
                course_id,
                fields["l"],
                datetime.fromtimestamp(int(fields["t"]) / 1000, UTC),
                chat_id=fields.get("ch", ""),
                class_id=fields.get("c", ""),
                payload=json.loads(fields.get("d") or "{}"),
            )
        )
    return sorted(out, key=lambda e: e.at)


async def export_recording(store: RedisStore, courses: list[str]) -> list[dict[str, Any]]:
    """Learners, classes and interactions of the courses, as recording lines."""
    enrolled: dict[str, list[str]] = {}
    lines: list[dict[str, Any]] = []
    for course in courses:
        for learner_id in await store.activity.course_learners(course):
            enrolled.setdefault(learner_id, []).append(course)
    profiles = await store.learners.get_many(sorted(enrolled))
    lines += [learner_line(profiles[lid], enrolled[lid]) for lid in sorted(profiles)]
    for course in courses:
        lines += [class_line(s) for s in await store.classes.all(course)]
    for course in courses:
        lines += [interaction_line(e) for e in await _events(store, course)]
    return lines
