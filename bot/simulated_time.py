"""Simulated time for the demo, `campaigns preview` and the tests: the real app, driven by a manual clock."""

from __future__ import annotations

from datetime import datetime

from bot.app import App
from bot.clock import ManualClock


async def advance(app: App, clock: ManualClock, to: datetime) -> None:
    """Move time to `to`, firing due jobs in their order and delivering what each of them queues.

    The clock stops at every job's time on the way, so a job sees the time it was due at (and a step queued by
    one job can be due before the next one fires).
    """
    while True:
        due = [j.next_run_time for j in app.scheduler.jobs() if j.next_run_time and j.next_run_time <= to]
        if not due:
            break
        clock.set(max(clock.now(), min(due)))
        await app.scheduler.run_due(clock.now())
        await app.dispatcher.drain()
    clock.set(max(clock.now(), to))
    await app.dispatcher.drain()
