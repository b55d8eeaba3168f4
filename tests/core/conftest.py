"""Fixtures for the core: the real app (Redis, scheduler, dispatcher) on simulated time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.console import RecordingMessenger
from bot.app import App, build_app
from bot.clock import ManualClock
from bot.config import Config, load_config
from bot.domain import Identity, Interaction, InteractionKind, Platform
from bot.simulated_time import advance
from bot.usecases.replies import Actor

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
TEACHER = Identity(Platform.TELEGRAM, "111111111")
CLASS_AT = datetime(2026, 11, 4, 18, 0, tzinfo=UTC)  # Wed 18:00 in London (GMT in November)


@pytest.fixture
def config() -> Config:
    return load_config(EXAMPLE)


@pytest.fixture
def messengers() -> dict[Platform, RecordingMessenger]:
    return {p: RecordingMessenger(p) for p in (Platform.TELEGRAM, Platform.DISCORD)}


@pytest.fixture
async def app(
    config: Config, clock: ManualClock, messengers: dict[Platform, RecordingMessenger], redis_url: str
) -> AsyncIterator[App]:
    built = await build_app(
        config, clock=clock, messengers=dict(messengers), redis_url=redis_url, scheduler_mode="manual"
    )
    yield built
    await built.close()


async def enrol(
    app: App, platform: Platform, user_ids: list[str], *, start: bool = True, name: str = ""
) -> list[str]:
    """Learners who joined the course (and, with `start`, opened the bot's private chat)."""
    ids = []
    for user_id in user_ids:
        who = Identity(platform, user_id)
        if start:
            await app.learner.start(
                who, f"start-{platform.value}-{user_id}", name=name or f"L{user_id}", course_id="python101"
            )
        else:
            await app.store.activity.enroll(
                "python101", await app.store.learners.resolve(who, name or f"L{user_id}")
            )
        ids.append(await app.store.learners.resolve(who))
    return ids


async def run_class(app: App, clock: ManualClock, watch: dict[str, int], **extra: dict[str, int]) -> str:
    """Go live at CLASS_AT, learners watch (minutes) and act (kind -> {learner: count}), end after 60 min."""
    teacher = Actor(TEACHER)
    await advance(app, clock, CLASS_AT)
    assert (await app.teacher.live(teacher, "python101", "https://youtube.com/live/x")).ok
    session = await app.store.classes.current("python101")
    assert session is not None
    events = [
        Interaction(
            InteractionKind.WATCH_HEARTBEAT,
            Platform.WEB,
            f"hb-{lid}-{m}",
            "python101",
            lid,
            CLASS_AT + timedelta(minutes=m),
            class_id=session.id,
            payload={"seconds": 60},
        )
        for lid, minutes in watch.items()
        for m in range(minutes)
    ]
    for kind, per_learner in extra.items():
        events += [
            Interaction(
                InteractionKind(kind),
                Platform.TELEGRAM,
                f"{kind}-{lid}-{n}",
                "python101",
                lid,
                CLASS_AT,
                class_id=session.id,
            )
            for lid, count in per_learner.items()
            for n in range(count)
        ]
    await app.store.intake.ingest(events)
    await advance(app, clock, CLASS_AT + timedelta(minutes=60))
    assert (await app.teacher.end(teacher, "python101")).ok
    return session.id
