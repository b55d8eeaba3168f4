"""An access log without the personal tokens: /j/<token> is logged as /j/…, so logs hold no bearer links."""

from __future__ import annotations

import re

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

_TOKEN_PATH = re.compile(r"^/([jwo])/[^/?]+")


def redact(path: str) -> str:
    return _TOKEN_PATH.sub(r"/\1/…", path)


class RedactingAccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %d %.1fms',
            request.remote,
            request.method,
            redact(request.path),
            response.status,
            time * 1000,
        )
