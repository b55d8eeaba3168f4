"""The `[telegram]` section of the configuration file; `config.example.toml` documents every key."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from bot.config.problems import ConfigProblem, Invalid
from bot.config.types import Duration, EnvName, matching

MIN_LINK_SECRET_BYTES = (
    16  # the deep links' HMAC key: shorter ones are refused (adapters/telegram/deeplink.py)
)
# What Telegram accepts as a webhook's secret token.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _listen_address(value: str) -> str:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise Invalid(
            f"{value!r} is not host:port", "an address to listen on, e.g. 127.0.0.1:8080 or 0.0.0.0:8443"
        )
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise Invalid("must be longer than zero", "a duration such as 12h or 10s")
    return value


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
        str, matching(r"(https://\S+)?", "a public https:// address, e.g. https://bot.example.com/tg")
    ] = ""
    path: Annotated[str, matching(r"/[A-Za-z0-9/_.-]*", "a URL path such as /telegram/webhook")] = (
        "/telegram/webhook"
    )
    secret_env: EnvName = "CLASSPULSE_TELEGRAM_WEBHOOK_SECRET"
    # Where ClassPulse's own web server listens for the updates the proxy forwards (port 0: any free port).
    listen: Annotated[str, AfterValidator(_listen_address)] = "127.0.0.1:8080"

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


class TelegramConfig(_Section):
    enabled: bool = False
    token_env: EnvName = "CLASSPULSE_TELEGRAM_TOKEN"
    api_server: Annotated[str, matching(r"https?://\S+", "an http(s):// address")] = (
        "https://api.telegram.org"
    )
    mode: Literal["polling", "webhook"] = "polling"
    webhook: TelegramWebhook = TelegramWebhook()
    bot_username: Annotated[
        str, matching(r"([A-Za-z][A-Za-z0-9_]{3,31})?", "the bot's username without @, e.g. classpulse_bot")
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


def check_telegram_environment(section: object, env: Mapping[str, str]) -> list[ConfigProblem]:
    """The secrets an enabled bot needs from the environment (the token is checked with Discord's).

    Works on the raw `[telegram]` table, so that it reports even when other keys of the file are wrong.
    """
    if not isinstance(section, dict) or section.get("enabled") is not True:
        return []
    problems: list[ConfigProblem] = []
    var = section.get("link_secret_env", "CLASSPULSE_TELEGRAM_LINK_SECRET")
    if isinstance(var, str):
        value = env.get(var, "")
        if len(value.encode()) < MIN_LINK_SECRET_BYTES:
            what = "is not set" if not value else f"is shorter than {MIN_LINK_SECRET_BYTES} characters"
            problems.append(
                ConfigProblem(
                    "telegram.link_secret_env",
                    f"the environment variable {var} {what}",
                    f'export {var}="$(openssl rand -hex 32)": it signs the bot\'s t.me deep links',
                )
            )
    webhook = section.get("webhook")
    if section.get("mode") == "webhook":
        table = webhook if isinstance(webhook, dict) else {}
        var = table.get("secret_env", "CLASSPULSE_TELEGRAM_WEBHOOK_SECRET")
        value = env.get(var, "") if isinstance(var, str) else ""
        if isinstance(var, str) and not WEBHOOK_SECRET.fullmatch(value):
            what = "is not set" if not value else "is not 1-256 characters of A-Z, a-z, 0-9, _ and -"
            problems.append(
                ConfigProblem(
                    "telegram.webhook.secret_env",
                    f"the environment variable {var} {what}",
                    f'export {var}="$(openssl rand -hex 32)": Telegram sends it back with every update',
                )
            )
    return problems
