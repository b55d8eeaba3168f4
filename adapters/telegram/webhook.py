"""Webhook mode: ClassPulse's own aiohttp server takes the updates Telegram posts.

Telegram sends the secret given to setWebhook in `X-Telegram-Bot-Api-Secret-Token` with every update. A
request without the right secret is answered 403 and nothing of it is read or processed. Updates are
handled before the answer, so a failure answers 500 and Telegram delivers the update again (the dedup
mark is released on failure, see `updates.py`).
"""

from __future__ import annotations

import hmac
import logging

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_app(dispatcher: Dispatcher, bot: Bot, path: str, secret: str) -> web.Application:
    if not secret:
        raise ValueError("a webhook needs a secret token")
    expected = secret.encode()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning(
                "telegram webhook: a request from %s without the right secret token; refused", request.remote
            )
            return web.Response(status=403, text="wrong or missing secret token")
        try:
            update = Update.model_validate(await request.json(), context={"bot": bot})
        except (ValueError, ValidationError):
            return web.Response(status=400, text="the body is not a Telegram update")
        await dispatcher.feed_webhook_update(bot, update)
        return web.json_response({})

    app = web.Application()
    app.router.add_post(path, receive)
    return app
