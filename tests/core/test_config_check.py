"""`classpulse config check`: every problem, with its key path, what is wrong and what was expected."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from typer.testing import CliRunner

from bot.cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
runner = CliRunner()


def check(path: Path, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    result = runner.invoke(app, ["config", "check", str(path)], env=env or {})
    assert "Traceback" not in result.output
    return result.exit_code, [line for line in result.output.splitlines() if line.strip()]


def example() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "classpulse.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def test_the_example_config_is_valid() -> None:
    code, lines = check(EXAMPLE)
    assert code == 0
    assert lines[-1].startswith(f"{EXAMPLE}: OK")


def test_an_unknown_key_is_named_with_a_did_you_mean(tmp_path: Path) -> None:
    data = example()
    data["courses"]["python101"]["timezon"] = "Europe/London"
    code, lines = check(write(tmp_path, data))
    assert code != 0
    expected = "courses.python101.timezon: unknown key 'timezon' (did you mean 'timezone'?)"
    assert f"{tmp_path / 'classpulse.toml'}: {expected}" in lines


def test_an_unknown_top_level_section_is_named(tmp_path: Path) -> None:
    data = example()
    data["campaign"] = []
    _, lines = check(write(tmp_path, data))
    assert any("campaign: unknown key 'campaign' (did you mean 'campaigns'?)" in line for line in lines)


def test_a_wrong_type_says_what_was_given_and_what_was_expected(tmp_path: Path) -> None:
    data = example()
    data["courses"]["python101"]["price"] = "199"
    _, lines = check(write(tmp_path, data))
    assert any(
        line.endswith("courses.python101.price: wrong type: got a string '199' (a number)") for line in lines
    )


def test_a_campaign_naming_a_missing_coupon_pool_is_an_error(tmp_path: Path) -> None:
    data = example()
    data["campaigns"][0]["steps"][4]["coupon"] = "hot48h"
    _, lines = check(write(tmp_path, data))
    assert any(
        line.endswith("campaigns[0].steps[4].coupon: no coupon pool named 'hot48h' (did you mean 'hot-48h'?)")
        for line in lines
    )


def test_a_campaign_for_an_unknown_course_is_an_error(tmp_path: Path) -> None:
    data = example()
    data["campaigns"][0]["course"] = "rust201"
    _, lines = check(write(tmp_path, data))
    assert any("campaigns[0].course: no course named 'rust201' (one of: python101)" in line for line in lines)


def test_an_unknown_timezone_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    data = example()
    data["courses"]["python101"]["timezone"] = "Europe/Lndon"
    _, lines = check(write(tmp_path, data))
    assert any(
        line.endswith(
            "courses.python101.timezone: unknown time zone 'Europe/Lndon' (did you mean 'Europe/London'?)"
        )
        for line in lines
    )


def test_a_storage_url_that_is_not_a_redis_url_is_an_error_without_its_password(tmp_path: Path) -> None:
    data = example()
    data["storage"] = {"redis_url": "localhost:6379"}
    _, lines = check(write(tmp_path, data))
    assert any(
        line.endswith(
            "storage.redis_url: 'localhost:6379' is not a Redis URL (redis://host:6379/0, "
            "rediss://… (TLS), unix:///path/to/redis.sock, or memory://)"
        )
        for line in lines
    )

    data["storage"] = {"redis_url": "http://user:s3cret@cache.example.com"}
    _, lines = check(write(tmp_path, data))
    assert any("storage.redis_url: 'cache.example.com' is not a Redis URL" in line for line in lines)
    assert not any("s3cret" in line for line in lines)


def test_every_variable_name_for_a_secret_gets_the_same_hint(tmp_path: Path) -> None:
    data = example()
    data["purchase_webhook"]["secret_env"] = "my-secret"
    data["discord"] = {"token_env": "my token"}
    data["relay"]["link_secret_env"] = "1ST"
    _, lines = check(write(tmp_path, data))
    hint = "is not valid (the name of an environment variable, e.g. MY_TOKEN)"
    for key, value in (
        ("purchase_webhook.secret_env", "my-secret"),
        ("discord.token_env", "my token"),
        ("relay.link_secret_env", "1ST"),
    ):
        assert any(line.endswith(f"{key}: {value!r} {hint}") for line in lines), key


def test_an_offset_that_cannot_be_parsed_is_an_error(tmp_path: Path) -> None:
    data = example()
    data["campaigns"][0]["steps"][0]["offset"] = "24 hours"
    _, lines = check(write(tmp_path, data))
    assert any(
        "campaigns[0].steps[0].offset: cannot read '24 hours' as a duration (a duration such as 90s" in line
        for line in lines
    )


def test_a_configured_bot_whose_token_variable_is_missing_is_an_error(tmp_path: Path) -> None:
    data = example()
    data["telegram"]["enabled"] = True
    path = write(tmp_path, data)
    code, lines = check(path)
    assert code != 0
    assert any(
        "telegram.token_env: the environment variable CLASSPULSE_TELEGRAM_TOKEN is not set" in line
        for line in lines
    )
    link_secret = {"CLASSPULSE_TELEGRAM_LINK_SECRET": "0123456789abcdef0123"}
    code, _ = check(path, env={"CLASSPULSE_TELEGRAM_TOKEN": "123:abc", **link_secret})
    assert code == 0


def test_a_template_that_would_fail_at_send_time_is_caught_now(tmp_path: Path) -> None:
    data = example()
    data["campaigns"][0]["steps"][4]["text"]["en"] = "Hi {{ nmae }}"
    data["campaigns"][0]["steps"][5]["text"] = "Hi {{ name "
    _, lines = check(write(tmp_path, data))
    assert any(
        "campaigns[0].steps[4].text.en: template does not render: 'nmae' is undefined" in line
        for line in lines
    )
    assert any("campaigns[0].steps[5].text: template does not render:" in line for line in lines)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    data = example()
    data["courses"]["python101"]["price"] = -5
    data["courses"]["python101"]["currency"] = "dollars"
    data["coupons"]["hot-48h"]["value"] = 150
    data["scoring"]["weights"]["participation"] = 0.9
    data["campaigns"][0]["steps"][1]["trigger"] = "class_begun"
    data["campaigns"][0]["steps"][2]["id"] = "remind-1h"
    code, lines = check(write(tmp_path, data))
    assert code != 0
    problems = "\n".join(lines)
    assert "courses.python101.price:" in problems
    assert (
        "courses.python101.currency: 'dollars' is not valid (a three-letter ISO code such as USD)" in problems
    )
    assert "coupons.hot-48h: a percent coupon of 150 is more than the price (a value up to 100)" in problems
    assert "scoring.weights: participation (0.9) must be below watch (0.6)" in problems
    assert "campaigns[0].steps[1].trigger: 'class_begun' is not allowed" in problems
    assert "campaigns[0].steps[2].id: step id 'remind-1h' is used twice in this campaign" in problems
    assert lines[-1].endswith("6 problems found")


def test_a_missing_required_key_says_what_it_should_hold(tmp_path: Path) -> None:
    data = example()
    del data["courses"]["python101"]["currency"]
    _, lines = check(write(tmp_path, data))
    assert any(line.endswith("courses.python101.currency: missing required key (a string)") for line in lines)


def test_a_toml_syntax_error_names_the_line_and_prints_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[storage]\nredis_url = "memory://\n', encoding="utf-8")
    code, lines = check(path)
    assert code != 0
    assert lines[0].startswith(f"{path}: not valid TOML:")
    assert "line 2" in lines[0]


def test_a_missing_file_is_a_one_line_error(tmp_path: Path) -> None:
    code, lines = check(tmp_path / "nope.toml")
    assert code != 0
    assert lines[0] == f"{tmp_path / 'nope.toml'}: cannot read the file: No such file or directory"


@pytest.mark.parametrize(
    ("course_key", "value", "message"),
    [
        ("language", "English", "'English' is not valid (a language code such as en or zh)"),
        ("class_minutes", 0, "Input should be greater than 0"),
        ("telegram_chats", "-100123", "wrong type: got a string '-100123' (a list [ ... ])"),
    ],
)
def test_course_fields_are_validated(tmp_path: Path, course_key: str, value: object, message: str) -> None:
    data = example()
    data["courses"]["python101"][course_key] = value
    _, lines = check(write(tmp_path, data))
    assert any(f"courses.python101.{course_key}: {message}" in line for line in lines), lines
