"""The `[relay]` section: the stream relay's public address, its server, its links and its limits."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.config.problems import ConfigError, ConfigProblem, Invalid
from bot.config.types import Duration, EnvName

# The shortest secret accepted for signing links: 32 characters of `secrets.token_urlsafe` carry ~190 bits.
MIN_SECRET_LENGTH = 32
SECRET_HINT = 'python3 -c "import secrets; print(secrets.token_urlsafe(32))"'


class _Section(BaseModel):
    # The same rules as bot.config.schema.Section, which imports this module and so cannot be imported here.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class RelayRateLimits(_Section):
    """Requests per minute that one client IP may make to each kind of endpoint; more get HTTP 429."""

    links: int = Field(default=60, gt=0)  # GET /j/<token> and /o/<token>
    pages: int = Field(default=300, gt=0)  # the watch page and its static files
    heartbeats: int = Field(default=1200, gt=0)  # POST /hb; a school behind one NAT shares one IP
    health: int = Field(default=120, gt=0)  # GET /healthz
    # How many client IPs are remembered at once; the least recently seen is forgotten first.
    tracked_ips: int = Field(default=100_000, ge=100)


class RelayConfig(_Section):
    # Run the relay: learners get personal tracked links (<public_base_url>/j/<token>) instead of the raw
    # stream URL, and `classpulse run` serves it. Needs the link secret in the environment (link_secret_env).
    enabled: bool = False
    # The address learners reach the relay at, as printed in their links: <public_base_url>/j/<token>.
    public_base_url: str = "http://localhost:8080"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    heartbeat_interval: Duration = timedelta(seconds=15)
    link_secret_env: EnvName = "CLASSPULSE_LINK_SECRET"
    # A link keeps working this long after its class ended (late viewers, the last heartbeats).
    link_grace: Duration = timedelta(hours=2)
    # And never longer than this after its class started (or was scheduled to start).
    link_max_lifetime: Duration = timedelta(hours=24)
    trusted_proxies: list[str] = []
    rate_limits: RelayRateLimits = RelayRateLimits()
    live_detection: bool = True
    probe_interval: Duration = timedelta(seconds=10)
    # Heartbeats and clicks are written to the store in micro-batches collected for at most this long.
    batch_window_ms: int = Field(default=5, ge=0, le=1000)
    # One log line per request (tokens redacted). Off by default: the reverse proxy in front logs requests
    # already, and at thousands of heartbeats a second the lines cost a third of the relay's CPU.
    access_log: bool = False

    @field_validator("public_base_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Invalid(
                f"{value!r} is not an http(s) address", "an address such as https://live.example.com"
            )
        if parts.query or parts.fragment:
            raise Invalid(f"{value!r} has a query or fragment", "a base address without ? or #")
        return value.rstrip("/")

    @field_validator("heartbeat_interval")
    @classmethod
    def _interval(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(minutes=5):
            raise Invalid(f"{value.total_seconds():g}s is out of range", "between 1s and 5m")
        if value.total_seconds() != int(value.total_seconds()):
            # Each heartbeat adds this many watched seconds, and watch time is counted in whole seconds.
            raise Invalid(f"{value.total_seconds():g}s is not a whole number of seconds", "e.g. 15s")
        return value

    @field_validator("probe_interval")
    @classmethod
    def _probe(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise Invalid(f"{value.total_seconds():g}s is too short", "at least 1s")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise Invalid(
                    f"{entry!r} is not an IP address or network", "addresses such as 127.0.0.1 or 10.0.0.0/8"
                ) from None
        return value

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in self.trusted_proxies)


def link_secret(
    relay: RelayConfig, environ: Mapping[str, str] | None = None, source: str = "<config>"
) -> bytes:
    """The link-signing secret from the environment variable the config names; ConfigError when unusable."""
    env = os.environ if environ is None else environ
    problem = link_secret_problem(relay.link_secret_env, env)
    if problem is not None:
        raise ConfigError(source, [problem])
    return env[relay.link_secret_env].encode()


def link_secret_problem(var: str, env: Mapping[str, str]) -> ConfigProblem | None:
    """What is wrong with the link secret in `var`, if anything (also used by `config check`)."""
    value = env.get(var, "")
    if not value:
        return ConfigProblem(
            "relay.link_secret_env",
            f"the environment variable {var} is not set",
            f"export {var}=$({SECRET_HINT}), or set relay.enabled = false",
        )
    if len(value) < MIN_SECRET_LENGTH:
        return ConfigProblem(
            "relay.link_secret_env",
            f"the secret in {var} is too short ({len(value)} characters)",
            f"at least {MIN_SECRET_LENGTH} random characters: export {var}=$({SECRET_HINT})",
        )
    return None
