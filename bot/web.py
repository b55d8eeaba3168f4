"""The HTTP side of ClassPulse as one service: the stream relay (tracked links, watch page, heartbeats) and
the purchase webhook, on the relay's listen address. `classpulse run` starts it beside the bots when either
is enabled; `classpulse serve` runs it alone.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.log import access_logger

from adapters.redis.connection import redacted
from adapters.web.purchase_webhook import add_purchase_routes
from bot.app import App, MissingSecret, purchase_webhook
from bot.config import ConfigError
from bot.config.relay import link_secret
from bot.domain import ClassSession
from bot.runtime import ServiceError
from stream_relay.accesslog import RedactingAccessLogger
from stream_relay.server import create_app

log = logging.getLogger(__name__)


def web_enabled(app: App) -> bool:
    return app.config.relay.enabled or app.config.purchase_webhook.enabled


class WebService:
    name = "web"

    def __init__(self, app: App) -> None:
        self.app = app
        self._runner: web.AppRunner | None = None

    def _application(self) -> web.Application:
        config = self.app.config
        if config.relay.enabled:
            try:
                secret = link_secret(config.relay)
            except ConfigError as exc:
                raise ServiceError(str(exc.problems[0].render("config"))) from None
            application = create_app(
                config, self.app.store, self.app.clock, secret, on_live=self._stream_started
            )
        else:
            application = web.Application(client_max_size=64 * 1024)
        if config.purchase_webhook.enabled:
            try:
                add_purchase_routes(application, purchase_webhook(self.app))
            except MissingSecret as exc:
                raise ServiceError(str(exc)) from None
        return application

    async def _stream_started(self, session: ClassSession) -> None:
        if await self.app.teacher.stream_started(session):
            log.info(
                "class %s of %s went live by itself (its HLS stream started)", session.id, session.course_id
            )

    async def start(self) -> None:
        relay = self.app.config.relay
        self._runner = web.AppRunner(
            self._application(),
            access_log_class=RedactingAccessLogger,
            access_log=access_logger if relay.access_log else None,
            handle_signals=False,
        )
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, relay.host, relay.port).start()
        except OSError as exc:
            await self._runner.cleanup()
            raise ServiceError(f"cannot listen on {relay.host}:{relay.port}: {exc.strerror}") from None
        log.info(
            "web server on %s:%d (public %s), store %s",
            relay.host,
            relay.port,
            relay.public_base_url,
            redacted(self.app.store.handle.url),
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def build(app: App) -> WebService:
    """The `classpulse run` service factory."""
    return WebService(app)
