"""Exactly one active campaign scheduler per deployment.

Every `classpulse run` process builds a scheduler, but APScheduler's job stores must never be shared by two
running schedulers: only the holder of a lease in Redis runs its scheduler; the others keep theirs paused
and take over within one lease period if the holder dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Protocol

from campaigns.scheduler import CampaignScheduler

log = logging.getLogger(__name__)


class Lease(Protocol):
    owner: str

    async def hold(self) -> bool: ...

    async def release(self) -> None: ...


async def lead_scheduler(
    scheduler: CampaignScheduler,
    lease: Lease,
    stop: asyncio.Event,
    renew_every: timedelta = timedelta(seconds=5),
) -> None:
    """Resume the scheduler while we hold the lease, pause it when we lose it; release it when stopping."""
    leading = False
    try:
        while not stop.is_set():
            try:
                holding = await lease.hold()
            except Exception:  # Redis unreachable: we cannot prove we lead, so we must not
                log.exception("could not renew the scheduler lease")
                holding = False
            if holding != leading:
                leading = holding
                if leading:
                    scheduler.resume()
                else:
                    scheduler.pause()
                log.info(
                    "%s %s the campaign scheduler", lease.owner, "leads" if leading else "no longer leads"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), renew_every.total_seconds())
    finally:
        if leading:
            scheduler.pause()
            await lease.release()
