"""One active campaign scheduler per deployment, with fail-over when the leader dies."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from adapters.redis.lease import RedisLease
from bot.app import App, build_app
from bot.config import Config
from campaigns.leadership import lead_scheduler


class Hanging(RedisLease):
    """A lease holder whose process freezes: it stops renewing without releasing anything."""

    frozen = False

    async def hold(self) -> bool:
        if self.frozen:
            await asyncio.Event().wait()
        return await super().hold()


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 (polling another task's state: there is no event to wait on)
            await asyncio.sleep(0.02)


def leaders(apps: list[App]) -> int:
    return sum(1 for app in apps if app.scheduler.active)


async def test_only_the_lease_holder_runs_its_scheduler_and_another_takes_over(
    config: Config, redis_url: str
) -> None:
    apps: list[App] = [
        await build_app(config, redis_url=redis_url, scheduler_mode="standby", consumer=f"p{i}")
        for i in range(2)
    ]
    leases = [
        Hanging(app.store.client, app.store.keys.scheduler_lease(), f"p{i}", timedelta(milliseconds=300))
        for i, app in enumerate(apps)
    ]
    stop = [asyncio.Event(), asyncio.Event()]
    tasks = [
        asyncio.create_task(lead_scheduler(app.scheduler, lease, s, renew_every=timedelta(milliseconds=50)))
        for app, lease, s in zip(apps, leases, stop, strict=True)
    ]
    leader = 0
    try:
        await until(lambda: leaders(apps) == 1)
        await asyncio.sleep(0.3)
        assert leaders(apps) == 1  # stays one, renewal after renewal
        leader = next(i for i, a in enumerate(apps) if a.scheduler.active)
        other = 1 - leader
        leases[leader].frozen = True
        await until(lambda: apps[other].scheduler.active)
        stop[other].set()
        await tasks[other]
        assert not apps[other].scheduler.active  # a clean stop pauses and releases
        assert await apps[other].store.client.get(apps[other].store.keys.scheduler_lease()) is None
    finally:
        for s in stop:
            s.set()
        tasks[leader].cancel()  # the frozen one never returns by itself
        await asyncio.gather(*tasks, return_exceptions=True)
        for app in apps:
            await app.close()
