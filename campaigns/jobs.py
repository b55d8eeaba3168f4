"""The functions APScheduler stores by reference ("campaigns.jobs:run_step"), never closures.

A stored job names the runtime (the deployment's key prefix) it belongs to; the composition root registers
the live campaign engine under that name at start-up, so a job scheduled before a restart runs in the new
process.
"""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger(__name__)


class _Engine(Protocol):
    async def run(self, course_id: str, class_id: str, campaign_id: str, step_id: str) -> object: ...

    async def recurring(self, campaign_id: str, step_id: str) -> object: ...

    async def sweep(self) -> object: ...


_RUNTIMES: dict[str, _Engine] = {}

RUN_STEP = "campaigns.jobs:run_step"
RUN_RECURRING = "campaigns.jobs:run_recurring"
SWEEP = "campaigns.jobs:sweep"


def register(runtime: str, engine: _Engine) -> None:
    _RUNTIMES[runtime] = engine


def unregister(runtime: str, engine: _Engine) -> None:
    if _RUNTIMES.get(runtime) is engine:
        del _RUNTIMES[runtime]


def _engine(runtime: str) -> _Engine:
    engine = _RUNTIMES.get(runtime)
    if engine is None:
        raise RuntimeError(f"no campaign runtime {runtime!r} is registered in this process")
    return engine


async def run_step(runtime: str, course_id: str, class_id: str, campaign_id: str, step_id: str) -> None:
    outcome = await _engine(runtime).run(course_id, class_id, campaign_id, step_id)
    log.info("ran step %s/%s for class %s/%s: %s", campaign_id, step_id, course_id, class_id, outcome)


async def run_recurring(runtime: str, campaign_id: str, step_id: str) -> None:
    outcome = await _engine(runtime).recurring(campaign_id, step_id)
    log.info("ran recurring step %s/%s: %s", campaign_id, step_id, outcome)


async def sweep(runtime: str) -> None:
    outcome = await _engine(runtime).sweep()
    log.info("campaign sweep: %s", outcome)
