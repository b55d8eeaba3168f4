"""The functions APScheduler stores by reference ("campaigns.jobs:run_step"), never closures.

A stored job names the runtime (the deployment's key prefix) it belongs to; the composition root registers
the live StepRunner under that name at start-up, so a job scheduled before a restart runs in the new process.
"""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger(__name__)


class _Runner(Protocol):
    async def run(self, course_id: str, class_id: str, campaign_id: str, step_id: str) -> object: ...


_RUNTIMES: dict[str, _Runner] = {}

RUN_STEP = "campaigns.jobs:run_step"


def register(runtime: str, runner: _Runner) -> None:
    _RUNTIMES[runtime] = runner


def unregister(runtime: str, runner: _Runner) -> None:
    if _RUNTIMES.get(runtime) is runner:
        del _RUNTIMES[runtime]


async def run_step(runtime: str, course_id: str, class_id: str, campaign_id: str, step_id: str) -> None:
    runner = _RUNTIMES.get(runtime)
    if runner is None:
        raise RuntimeError(f"no campaign runtime {runtime!r} is registered in this process")
    outcome = await runner.run(course_id, class_id, campaign_id, step_id)
    log.info("ran step %s/%s for class %s/%s: %s", campaign_id, step_id, course_id, class_id, outcome)
