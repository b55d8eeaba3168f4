"""An access log without the personal tokens: /j/<token> is logged as /j/…, so logs hold no bearer links."""

from __future__ import annotations

import logging
import re

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

_TOKEN_PATH = re.compile(r"^/([jwo])/[^/?]+")


def redact(path: str) -> str:
    return _TOKEN_PATH.sub(r"/\1/…", path)


class RedactingAccessLogger(AbstractAccessLogger):
    @property
    def enabled(self) -> bool:
        # aiohttp skips the call altogether when nobody listens: no formatting on the hot path for nothing.
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %d %.1fms',
            request.remote,
            request.method,
            redact(request.path),
            response.status,
            time * 1000,
        )
