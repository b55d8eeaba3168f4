"""Listening for "reload the configuration": SIGHUP, and a message on a Redis channel.

Both are offered: SIGHUP for a process managed on its own machine (`systemctl reload`, `kill -HUP`); the
Redis channel for everything else: `classpulse config reload` reaches every running process that shares the
store, on any host or container, without a PID file or the right to signal it, and hears each one's
ReloadReport back. The file is read again and checked first; an invalid file is refused, its problems
logged (and sent back), and the running config stays.

    reloader = ConfigReloader(app, Path("classpulse.toml"))
    await reloader.start()   # inside the running event loop
    ...
    await reloader.stop()
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError

from bot.app import App
from bot.config import ConfigError, load_config
from bot.reload import ReloadReport, refused, reload_config

log = logging.getLogger(__name__)

RETRY_AFTER = 1.0  # seconds between tries while Redis does not answer


def request_channel(key_prefix: str) -> str:
    return f"{key_prefix}:config-reload"


def result_channel(key_prefix: str) -> str:
    return f"{key_prefix}:config-reload:result"


def report_json(report: ReloadReport) -> str:
    return json.dumps(
        {
            "applied": report.applied,
            "summary": report.summary(),
            "problems": list(report.problems),
            "cancelled": list(report.cancelled),
            "moved": list(report.moved),
            "added": list(report.added),
            "kept": len(report.kept),
        }
    )


class ConfigReloader:
    def __init__(
        self,
        app: App,
        path: Path,
        *,
        environ: Mapping[str, str] | None = None,
        handle_sighup: bool = True,
    ) -> None:
        self.app = app
        self.path = path
        self.environ = environ
        self.handle_sighup = handle_sighup
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._pubsub: Any = None
        self._signal_set = False
        self.reports: list[ReloadReport] = []

    @property
    def listening(self) -> bool:
        """Whether `classpulse config reload` requests reach this process (the listener is running)."""
        return self._task is not None and not self._task.done()

    async def reload_now(self) -> ReloadReport:
        """Read the file again and apply it; one reload at a time."""
        async with self._lock:
            try:
                new = load_config(self.path, self.environ)
            except ConfigError as exc:
                report = refused([p.render(exc.source) for p in exc.problems])
            else:
                report = await reload_config(self.app, new)
            self.reports.append(report)
            return report

    async def start(self) -> None:
        prefix = self.app.config.storage.key_prefix
        self._pubsub = self.app.store.client.pubsub()
        await self._pubsub.subscribe(request_channel(prefix))
        self._task = asyncio.create_task(self._listen(prefix), name="config-reload-listener")
        if self.handle_sighup:
            loop = asyncio.get_running_loop()
            with suppress(NotImplementedError, RuntimeError):  # not on this platform or thread
                loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
                self._signal_set = True

    def _on_sighup(self) -> None:
        log.warning("SIGHUP: reloading %s", self.path)
        asyncio.get_running_loop().create_task(self.reload_now())

    async def _listen(self, prefix: str) -> None:
        lost = False
        while True:
            try:
                message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if lost:
                    log.warning(
                        "config reload: Redis answers again; listening on %s", request_channel(prefix)
                    )
                    lost = False
                if message is None:
                    continue
                log.warning("reload requested on %s: reloading %s", request_channel(prefix), self.path)
                report = await self.reload_now()
                await self.app.store.client.publish(result_channel(prefix), report_json(report))
            except RedisError as exc:
                # Redis went away: keep trying (redis-py subscribes again on reconnecting) rather than end
                # the listener, which would leave `classpulse config reload` unanswered for good.
                if not lost:
                    log.warning("config reload: Redis does not answer (%s); retrying", type(exc).__name__)
                    lost = True
                await asyncio.sleep(RETRY_AFTER)

    async def stop(self) -> None:
        if self._signal_set:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._signal_set = False
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._pubsub is not None:
            with suppress(RedisError):  # a store that is gone has no subscription left to end
                await self._pubsub.unsubscribe()
            await self._pubsub.aclose()
            self._pubsub = None
