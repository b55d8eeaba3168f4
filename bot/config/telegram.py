"""The `[telegram]` section of the configuration file; `config.example.toml` documents every key."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from bot.config.problems import Invalid
from bot.config.types import Duration


def _matching(pattern: str, expected: str) -> AfterValidator:
    # Own messages rather than `Field(pattern=...)`, so an admin reads what a valid value looks like.
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise Invalid(f"{value!r} is not valid", expected)
        return value

    return AfterValidator(check)


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise Invalid("must be longer than zero", "a duration such as 12h or 10s")
    return value


EnvName = Annotated[
    str, _matching(r"[A-Za-z_][A-Za-z0-9_]*", "the name of an environment variable, e.g. MY_TOKEN")
]
PositiveDuration = Annotated[Duration, AfterValidator(_positive)]


class _Section(BaseModel):
    # The same strictness as every other section of the file (see bot.config.schema.Section).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class TelegramLimits(_Section):
    """Telegram's flood limits, enforced by the rate governor in front of every send."""

    per_bot_per_second: float = Field(default=30.0, gt=0, le=1000)
    per_private_chat_per_second: float = Field(default=1.0, gt=0, le=30)
    per_group_per_minute: float = Field(default=20.0, gt=0, le=600)


class TelegramWebhook(_Section):
    url: Annotated[
        str, _matching(r"(https://\S+)?", "a public https:// address, e.g. https://bot.example.com/tg")
    ] = ""
    path: Annotated[str, _matching(r"/[A-Za-z0-9/_.-]*", "a URL path such as /telegram/webhook")] = (
        "/telegram/webhook"
    )
    secret_env: EnvName = "CLASSPULSE_TELEGRAM_WEBHOOK_SECRET"


class TelegramConfig(_Section):
    enabled: bool = False
    token_env: EnvName = "CLASSPULSE_TELEGRAM_TOKEN"
    api_server: Annotated[str, _matching(r"https?://\S+", "an http(s):// address")] = (
        "https://api.telegram.org"
    )
    mode: Literal["polling", "webhook"] = "polling"
    webhook: TelegramWebhook = TelegramWebhook()
    bot_username: Annotated[
        str, _matching(r"([A-Za-z][A-Za-z0-9_]{3,31})?", "the bot's username without @, e.g. classpulse_bot")
    ] = ""
    link_secret_env: EnvName = "CLASSPULSE_TELEGRAM_LINK_SECRET"
    link_valid_for: PositiveDuration = timedelta(hours=12)
    request_timeout: PositiveDuration = timedelta(seconds=10)
    limits: TelegramLimits = TelegramLimits()
    teachers_include_group_admins: bool = False

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> TelegramConfig:
        if self.mode == "webhook" and not self.webhook.url:
            raise Invalid(
                'mode = "webhook" needs telegram.webhook.url',
                "the public https:// address Telegram should post updates to",
            )
        return self
