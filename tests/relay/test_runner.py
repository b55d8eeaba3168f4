"""`serve`: the relay as the CLI will start it, from the configuration, until cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp
import pytest

from adapters.redis import RedisStore
from adapters.redis.local_server import free_port
from bot.clock import ManualClock
from bot.config import ConfigError
from stream_relay import serve
from tests.relay.conftest import relay_config

ENV = {"CLASSPULSE_LINK_SECRET": "s" * 40}


async def test_serve_answers_until_cancelled_then_frees_its_port(
    store: RedisStore, clock: ManualClock
) -> None:
    port = free_port()
    config = relay_config(port=port)
    ready = asyncio.Event()
    task = asyncio.create_task(serve(config, store, clock, environ=ENV, ready=ready))
    await asyncio.wait_for(ready.wait(), timeout=5)
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as response:
        assert response.status == 200
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz"):
            pass


async def test_serve_refuses_to_start_without_the_link_secret(store: RedisStore, clock: ManualClock) -> None:
    with pytest.raises(
        ConfigError, match=r"relay.link_secret_env: the environment variable CLASSPULSE_LINK_SECRET"
    ):
        await serve(relay_config(port=free_port()), store, clock, environ={})


@pytest.mark.parametrize("access_log", [False, True])
async def test_requests_are_logged_only_when_the_access_log_is_on_and_never_with_the_token(
    store: RedisStore, clock: ManualClock, caplog: pytest.LogCaptureFixture, access_log: bool
) -> None:
    port = free_port()
    ready = asyncio.Event()
    config = relay_config(port=port, access_log=access_log)
    task = asyncio.create_task(serve(config, store, clock, environ=ENV, ready=ready))
    await asyncio.wait_for(ready.wait(), timeout=5)
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/j/SecretToken123", allow_redirects=False),
    ):
        pass
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    if access_log:
        [line] = lines
        assert '"GET /j/…"' in line
    else:
        assert lines == []
    assert "SecretToken123" not in caplog.text
