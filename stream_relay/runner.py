"""Running the relay: `serve` builds the app from the configuration and serves it until cancelled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from aiohttp import web
from aiohttp.log import access_logger

from bot.config import Config
from bot.config.relay import link_secret
from bot.ports import Clock
from stream_relay.accesslog import RedactingAccessLogger
from stream_relay.ports import RelayBackend
from stream_relay.server import OnLive, create_app

log = logging.getLogger(__name__)


async def serve(
    config: Config,
    store: RelayBackend,
    clock: Clock,
    *,
    on_live: OnLive | None = None,
    environ: Mapping[str, str] | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Serve the relay on `[relay] host:port` until the task is cancelled, then shut down cleanly.

    Raises ConfigError (relay.link_secret_env) before listening when the link secret is missing or weak,
    and OSError when the address is taken. `ready` is set once the server accepts connections.
    """
    relay = config.relay
    secret = link_secret(relay, environ)
    app = create_app(config, store, clock, secret, on_live=on_live)
    runner = web.AppRunner(
        app,
        access_log_class=RedactingAccessLogger,
        access_log=access_logger if relay.access_log else None,
        handle_signals=False,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, relay.host, relay.port)
        await site.start()
        log.info(
            "stream relay listening on %s:%d, public at %s", relay.host, relay.port, relay.public_base_url
        )
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
