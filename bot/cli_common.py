"""What the `classpulse` subcommands share: consoles, the config and store options, one-line failures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from adapters.redis import RedisStore
from adapters.redis.connection import MEMORY_URL
from bot.config import Config, ConfigError, load_config
from bot.ports import StoreUnavailable

out = Console()
err = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Configuration file (default: the bundled config.example.toml)."),
]
RedisOption = Annotated[str | None, typer.Option("--redis", help="Redis URL (default: the config's).")]
PrefixOption = Annotated[
    str | None,
    typer.Option("--key-prefix", help="Key prefix (default: the config's; the demo writes under cpdemo)."),
]


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(message, markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def config_from(path: Path | None) -> Config:
    from bot.demo.simulation import default_config_path

    try:
        return load_config(path or default_config_path())
    except ConfigError as exc:
        raise fail(str(exc)) from None


async def open_store(config: Config, redis: str | None, prefix: str | None) -> RedisStore:
    url = redis or config.storage.redis_url
    store = RedisStore.open(url, prefix or config.storage.key_prefix, config.storage.dedup_window)
    try:
        await store.ping()
    except StoreUnavailable:
        await store.close()
        raise
    if url.startswith(MEMORY_URL):
        err.print(
            "note: the embedded memory:// store starts empty in every process; "
            "pass --redis URL to read a real store.",
            markup=False,
        )
    return store
