"""The [telegram] section: defaults, every key documented, and mistakes reported with their key path."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, load_config, parse_config
from bot.config.telegram import TelegramConfig, TelegramLimits, TelegramWebhook

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
COURSE = {"py": {"name": "Python", "price": 10.0, "currency": "USD"}}


def with_telegram(section: dict[str, Any]) -> dict[str, Any]:
    return {"courses": COURSE, "telegram": section}


def problems(section: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        parse_config(with_telegram(section), "classpulse.toml")
    return str(error.value).splitlines()


def test_defaults_follow_telegrams_limits() -> None:
    config = parse_config({"courses": COURSE}).telegram
    assert config.mode == "polling"
    assert config.api_server == "https://api.telegram.org"
    assert config.limits == TelegramLimits(
        per_bot_per_second=30, per_private_chat_per_second=1, per_group_per_minute=20
    )
    assert config.link_valid_for == timedelta(hours=12)
    assert not config.teachers_include_group_admins


def test_the_example_file_documents_every_telegram_key() -> None:
    text = EXAMPLE.read_text()
    section = text[text.index("[telegram]") : text.index("[discord]")]
    documented = tomllib.loads(section)
    for model, table in (
        (TelegramConfig, documented["telegram"]),
        (TelegramLimits, documented["telegram"]["limits"]),
        (TelegramWebhook, documented["telegram"]["webhook"]),
    ):
        assert set(model.model_fields) == set(table), model.__name__
    assert load_config(EXAMPLE, environ={}).telegram == TelegramConfig.model_validate(documented["telegram"])


def test_webhook_mode_needs_a_public_https_url() -> None:
    assert problems({"mode": "webhook"}) == [
        'classpulse.toml: telegram: mode = "webhook" needs telegram.webhook.url '
        "(the public https:// address Telegram should post updates to)"
    ]
    assert problems({"webhook": {"url": "http://bot.example.com/tg"}}) == [
        "classpulse.toml: telegram.webhook.url: 'http://bot.example.com/tg' is not valid "
        "(a public https:// address, e.g. https://bot.example.com/tg)"
    ]
    config = parse_config(
        with_telegram({"mode": "webhook", "webhook": {"url": "https://bot.example.com/tg"}})
    )
    assert config.telegram.webhook.secret_env == "CLASSPULSE_TELEGRAM_WEBHOOK_SECRET"


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"mode": "push"}, "telegram.mode: 'push' is not allowed (one of 'polling' or 'webhook')"),
        (
            {"token_env": "MY TOKEN"},
            "telegram.token_env: 'MY TOKEN' is not valid (the name of an environment variable",
        ),
        ({"bot_username": "@classpulse_bot"}, "telegram.bot_username: '@classpulse_bot' is not valid"),
        (
            {"limits": {"per_bot_per_second": 0}},
            "telegram.limits.per_bot_per_second: Input should be greater than 0",
        ),
        (
            {"limits": {"per_bot_per_second": "30"}},
            "telegram.limits.per_bot_per_second: wrong type: got a string '30'",
        ),
        ({"link_valid_for": "0s"}, "telegram.link_valid_for: must be longer than zero"),
        ({"limitz": {}}, "telegram.limitz: unknown key 'limitz' (did you mean 'limits'?)"),
    ],
)
def test_mistakes_name_their_key(section: dict[str, Any], expected: str) -> None:
    assert any(line.startswith(f"classpulse.toml: {expected}") for line in problems(section)), problems(
        section
    )
