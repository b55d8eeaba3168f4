"""aiogram's aiohttp session for a Bot API server on localhost."""

from __future__ import annotations

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer


class LocalSession(AiohttpSession):
    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        super().__init__(api=TelegramAPIServer.from_base(base_url), timeout=timeout)

    async def close(self) -> None:
        # aiogram waits 250 ms for TLS connections to wind down; plain HTTP to localhost has none.
        if self._session is not None and not self._session.closed:
            await self._session.close()
