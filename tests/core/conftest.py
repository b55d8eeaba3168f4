"""Fixtures for the core: the real app (Redis, scheduler, dispatcher) on simulated time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.console import RecordingMessenger
from bot.app import App, build_app
from bot.clock import ManualClock
from bot.config import Config, load_config
from bot.domain import Identity, Platform

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
TEACHER = Identity(Platform.TELEGRAM, "111111111")


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
