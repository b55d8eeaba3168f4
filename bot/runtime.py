"""`classpulse run`: the long-running process.

It builds the core (live scheduler, dispatcher), starts the platform services the config enables (each
adapter provides one), rescores live classes every minute, and on SIGINT/SIGTERM stops in order: services
first (no new work comes in), then the dispatcher (sends in flight finish; the rest stays in the outbox),
then the scheduler and the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from adapters.redis.lease import RedisLease
from bot.app import App, build_app
from bot.config import Config
from bot.domain import ClassState
from bot.reload_listener import ConfigReloader
from campaigns.leadership import lead_scheduler

log = logging.getLogger(__name__)

RESCORE_EVERY = timedelta(minutes=1)
LEASE_TTL = timedelta(seconds=15)  # a dead leader's scheduler is taken over within this


class Service(Protocol):
    """A part of the running process with its own lifecycle: a chat bot, the web server."""

    name: str

    async def start(self) -> None:
        """Return once running; raise ServiceError with a one-line message for a problem the user can fix."""
        ...

    async def stop(self) -> None: ...


class ServiceError(Exception):
    """A problem the user must fix before the service can run (a rejected token, a missing intent)."""


ServiceFactory = Callable[[App], Awaitable[Service]]


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str
    factory: str  # "module:function", imported only when the service is enabled


def enabled_services(config: Config) -> list[ServiceSpec]:
    specs = []
    if config.telegram.enabled:
        specs.append(ServiceSpec("telegram", "adapters.telegram.service:build"))
    if config.discord.enabled:
        specs.append(ServiceSpec("discord", "adapters.discord.service:build"))
    if config.relay.enabled or config.purchase_webhook.enabled:
        specs.append(ServiceSpec("web", "bot.web:build"))
    return specs


def load_factory(spec: ServiceSpec) -> ServiceFactory:
    module_name, _, attribute = spec.factory.partition(":")
    factory: ServiceFactory = getattr(importlib.import_module(module_name), attribute)
    return factory


async def rescore_live_classes(app: App, stop: asyncio.Event, every: timedelta = RESCORE_EVERY) -> None:
    """Keep live classes' scores fresh for the teachers' answers and the segment triggers."""
    while not stop.is_set():
        for course_id in app.config.courses:
            current = await app.store.classes.current(course_id)
            if current is not None and current.state is ClassState.LIVE:
                await app.rescorer.rescore(current)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every.total_seconds())


async def serve(
    config: Config,
    factories: Sequence[tuple[str, ServiceFactory]],
    stop: asyncio.Event,
    *,
    ready: Callable[[App], None] | None = None,
    config_path: Path | None = None,
    work: bool = True,
) -> None:
    """Run the core and the services until `stop` is set; raise ServiceError if a service cannot start.

    With `config_path`, SIGHUP or `classpulse config reload` re-reads that file and applies it. Without
    `work` (`classpulse serve`), only the services run: no dispatcher (this process has no messenger to
    send with), no scheduler, no rescoring; the processes of `classpulse run` do that.
    """
    owner = f"{socket.gethostname()}-{os.getpid()}"
    config_dir = config_path.parent if config_path is not None else None
    app = await build_app(config, scheduler_mode="standby", consumer=owner, config_dir=config_dir)
    lease = RedisLease(app.store.client, app.store.keys.scheduler_lease(), owner, LEASE_TTL)
    services: list[Service] = []
    tasks: list[asyncio.Task[None]] = []
    reloader = ConfigReloader(app, config_path) if config_path is not None else None
    try:
        for name, factory in factories:
            service = await factory(app)
            await service.start()
            services.append(service)
            log.info("%s started", name)
        if reloader is not None:
            await reloader.start()
        if work:
            tasks.append(
                asyncio.create_task(lead_scheduler(app.scheduler, lease, stop), name="scheduler-lease")
            )
            tasks.append(asyncio.create_task(app.dispatcher.run(stop), name="dispatcher"))
            tasks.append(asyncio.create_task(rescore_live_classes(app, stop), name="rescore"))
        # What start-up built (modules, config, app, services) lives as long as the process: keep it out of
        # the collector's full collections, whose pauses grow with what they walk (the relay's p99 showed it).
        gc.freeze()
        if ready is not None:
            ready(app)
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        for task in done:
            if task is not waiter and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        stop.set()
        if reloader is not None:
            try:
                await reloader.stop()
            except Exception:  # whatever it is, the services, tasks and store below must still close
                log.exception("the config reload listener did not stop cleanly")
        for service in reversed(services):
            try:
                await service.stop()
            except Exception:
                log.exception("%s did not stop cleanly", service.name)
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=30)
        await app.close()


async def run(config: Config, config_path: Path | None = None, *, web_only: bool = False) -> None:
    """`classpulse run` (or, `web_only`, `classpulse serve`): until SIGINT or SIGTERM; reload on SIGHUP."""
    specs = [s for s in enabled_services(config) if s.name == "web" or not web_only]
    if not specs:
        if web_only:
            raise ServiceError("nothing to serve: enable [relay] or [purchase_webhook] in the configuration")
        raise ServiceError("nothing to run: enable [telegram], [discord] or [relay] in the configuration")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        factories = [(spec.name, load_factory(spec)) for spec in specs]
        await serve(config, factories, stop, config_path=config_path, work=not web_only)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
