"""The Discord keys of the configuration: documented in the example, checked with their key paths."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from adapters.discord.routes import DiscordRoutes
from bot.config import ConfigError, load_config, parse_config
from bot.config.discord import CourseDiscordConfig, DiscordConfig

EXAMPLE = Path(__file__).parents[2] / "config.example.toml"


def course(**more: Any) -> dict[str, Any]:
    return {"name": "Python 101", "price": 199.0, "currency": "USD", **more}


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "test.toml", environ={"CLASSPULSE_DISCORD_TOKEN": "x"})
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


def test_the_example_documents_every_discord_key() -> None:
    raw = tomllib.loads(EXAMPLE.read_text())
    assert set(raw["discord"]) == set(DiscordConfig.model_fields)
    assert set(raw["courses"]["python101"]["discord"]) == set(CourseDiscordConfig.model_fields)
    config = load_config(EXAMPLE)
    assert config.courses["python101"].discord.class_channels == [556677889900112233]


def test_defaults_read_message_content_and_members_and_sync_nowhere_until_enabled() -> None:
    config = parse_config({"courses": {"py": course()}})
    assert config.discord.message_content_intent
    assert config.discord.members_intent
    assert config.discord.watch_flush.total_seconds() == 60
    assert config.courses["py"].discord.guild == 0


def test_an_enabled_bot_must_register_its_commands_somewhere() -> None:
    found = problems({"discord": {"enabled": True}, "courses": {"py": course()}})
    assert found == ["discord: the bot is enabled but its slash commands are registered nowhere"]


def test_ids_that_are_not_discord_ids_are_reported_at_their_key() -> None:
    found = problems(
        {
            "discord": {"guilds": [0, 12]},
            "courses": {"py": course(discord={"guild": 5, "teacher_roles": [7, 7], "class_channels": [-3]})},
        }
    )
    assert "discord.guilds: 0 is not a Discord id" in found
    assert "courses.py.discord.teacher_roles: an id is listed twice" in found
    assert "courses.py.discord.class_channels: -3 is not a Discord id" in found


def test_class_channels_need_their_server() -> None:
    found = problems({"courses": {"py": course(discord={"class_channels": [11]})}})
    assert found == ["courses.py.discord: class channels or teacher roles are set but not their server"]


def test_a_channel_belongs_to_one_course_only() -> None:
    found = problems(
        {
            "courses": {
                "py": course(discord_channels=[11]),
                "js": course(discord={"guild": 5, "class_channels": [11]}),
            }
        }
    )
    assert len(found) == 1
    assert "courses.js.discord.class_channels: channel 11 is already used by course 'py'" in found[0]


def test_flushing_watch_time_more_often_than_every_10s_is_refused() -> None:
    found = problems({"discord": {"watch_flush": "5s"}, "courses": {"py": course()}})
    assert found == ["discord.watch_flush: 5s is too frequent"]


def test_routes_find_the_course_of_a_channel_a_thread_a_class_channel_and_a_server() -> None:
    config = parse_config(
        {
            "courses": {
                "py": course(
                    discord_channels=[11],
                    teachers={"discord": [900]},
                    discord={"guild": 5, "class_channels": [21], "teacher_roles": [77]},
                ),
                "js": course(discord_channels=[12], discord={"guild": 5}),
            }
        }
    )
    routes = DiscordRoutes.from_config(config.courses)

    assert routes.course_of_chat(11) == "py"
    assert routes.course_of_chat(31, parent_id=12) == "js"  # a thread of a course channel
    assert routes.course_of_chat(21) == "py"  # the class channel's own chat
    assert routes.course_of_chat(99) is None
    assert routes.course_of_class_channel(21) == "py"
    assert routes.course_of_class_channel(11) is None
    assert routes.courses_of_guild(5) == ("py", "js")
    assert routes.is_teacher("py", 900)
    assert routes.is_teacher("py", 1, role_ids=[3, 77])
    assert not routes.is_teacher("js", 1, role_ids=[77])
