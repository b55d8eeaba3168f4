"""`classpulse run`: services start in order, stop in reverse, and the dispatcher delivers meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from typer.testing import CliRunner

from adapters.console import RecordingMessenger
from bot.app import App
from bot.cli import app as cli
from bot.config import Config
from bot.domain import OutboundMessage, Platform
from bot.runtime import ServiceError, serve
from tests.core.conftest import EXAMPLE


class FakeService:
    def __init__(self, name: str, journal: list[str], app: App, *, fail: bool = False) -> None:
        self.name = name
        self.journal = journal
        self.fail = fail
        self.messenger = RecordingMessenger(Platform.TELEGRAM)
        self.app = app

    async def start(self) -> None:
        if self.fail:
            raise ServiceError(f"{self.name}: the token was rejected")
        self.app.messengers[Platform.TELEGRAM] = self.messenger
        self.journal.append(f"start {self.name}")

    async def stop(self) -> None:
        self.journal.append(f"stop {self.name}")


def with_redis(config: Config, url: str) -> Config:
    return config.model_copy(update={"storage": config.storage.model_copy(update={"redis_url": url})})


async def test_services_start_in_order_stop_in_reverse_and_the_dispatcher_runs_meanwhile(
    config: Config, redis_url: str
) -> None:
    journal: list[str] = []
    made: list[FakeService] = []
    stop = asyncio.Event()

    def factory(name: str) -> Callable[[App], Awaitable[FakeService]]:
        async def build(app: App) -> FakeService:
            made.append(FakeService(name, journal, app))
            return made[-1]

        return build

    async def when_ready(app: App) -> None:
        await app.store.outbox.enqueue(
            [OutboundMessage("k1", Platform.TELEGRAM, "42", "hello")], app.clock.now()
        )
        for _ in range(100):
            if made[0].messenger.sent:
                break
            await asyncio.sleep(0.02)
        stop.set()

    tasks: list[asyncio.Task[None]] = []
    await serve(
        with_redis(config, redis_url),
        [("one", factory("one")), ("two", factory("two"))],
        stop,
        ready=lambda app: tasks.append(asyncio.create_task(when_ready(app))),
    )
    await asyncio.gather(*tasks)
    assert journal == ["start one", "start two", "stop two", "stop one"]
    assert [s.rendered for s in made[-1].messenger.sent] == ["hello"]  # the last one registered wins


async def test_a_service_that_cannot_start_stops_the_ones_already_running(
    config: Config, redis_url: str
) -> None:
    journal: list[str] = []

    async def good(app: App) -> FakeService:
        return FakeService("good", journal, app)

    async def bad(app: App) -> FakeService:
        return FakeService("bad", journal, app, fail=True)

    with pytest.raises(ServiceError, match="bad: the token was rejected"):
        await serve(with_redis(config, redis_url), [("good", good), ("bad", bad)], asyncio.Event())
    assert journal == ["start good", "stop good"]


def test_run_with_no_platform_enabled_says_what_to_do() -> None:
    result = CliRunner().invoke(cli, ["run", "--config", str(EXAMPLE)])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "classpulse run: nothing to run: enable [telegram], [discord] or [relay] in the configuration"
    )
