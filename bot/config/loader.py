"""Read, validate and cross-check a configuration file, reporting every problem with its key path."""

from __future__ import annotations

import difflib
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bot import templates
from bot.config.audience import courses_named, parse_audience
from bot.config.problems import ConfigError, ConfigProblem, Invalid, join_path
from bot.config.relay import link_secret_problem
from bot.config.schema import Config
from bot.config.telegram import check_telegram_environment
from bot.config.types import SLUG_EXPECTED

_TYPE_NAMES = {
    "string_type": "a string in quotes",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list [ ... ]",
    "dict_type": "a table",
    "model_type": "a table",
    "int_from_float": "an integer",
}


_KIND_NAMES: dict[Any, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a table",
    typing.Literal: "one of the allowed words",
}


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Load `path`; raise ConfigError listing every problem (never just the first)."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(source, [ConfigProblem("", f"cannot read the file: {exc.strerror}")]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(source, [ConfigProblem("", "the file is not UTF-8 text")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [ConfigProblem("", f"not valid TOML: {exc}")]) from None
    return parse_config(data, source, environ)


def parse_config(
    data: dict[str, Any], source: str = "<config>", environ: Mapping[str, str] | None = None
) -> Config:
    env = os.environ if environ is None else environ
    problems: list[ConfigProblem] = []
    config: Config | None = None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems.extend(_from_pydantic(error) for error in exc.errors())
    problems.extend(_cross_check(data, env))
    if problems:
        # One problem per key path and message, in file order as far as paths tell.
        unique = list(dict.fromkeys(problems))
        raise ConfigError(source, unique)
    assert config is not None
    return config


def _from_pydantic(error: ErrorDetails) -> ConfigProblem:
    loc = tuple(error["loc"])
    kind = error["type"]
    given = error.get("input")
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if kind == "missing":
        return ConfigProblem(join_path(loc), "missing required key", _expected_for(loc))
    if loc and loc[-1] == "[key]":
        return ConfigProblem(join_path(loc[:-1]), f"{given!r} is not a valid name", SLUG_EXPECTED)
    ctx = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, Invalid):
        return ConfigProblem(join_path(loc + cause.path), cause.message, cause.expected)
    if kind in _TYPE_NAMES:
        return ConfigProblem(join_path(loc), f"wrong type: got {_describe(given)}", _TYPE_NAMES[kind])
    if kind == "literal_error":
        return ConfigProblem(join_path(loc), f"{given!r} is not allowed", f"one of {ctx.get('expected', '')}")
    if kind == "string_pattern_mismatch":
        return ConfigProblem(join_path(loc), f"{given!r} is not valid", _pattern_hint(loc))
    return ConfigProblem(join_path(loc), error["msg"].removeprefix("Value error, "), "")


def _describe(value: Any) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        list: "a list",
        dict: "a table",
    }
    return (
        f"{names.get(type(value), type(value).__name__)} {value!r}"
        if not isinstance(value, dict)
        else "a table"
    )


def _pattern_hint(loc: tuple[Any, ...]) -> str:
    last = loc[-1] if loc else ""
    return {
        "currency": "a three-letter ISO code such as USD",
        "language": "a language code such as en or zh",
        "prefix": "up to 8 capital letters or digits",
    }.get(str(last), SLUG_EXPECTED)


def _expected_for(loc: tuple[Any, ...]) -> str:
    model = _model_at(loc[:-1])
    if model is None:
        return ""
    field = model.model_fields.get(str(loc[-1]))
    if field is None:
        return ""
    annotation = _unwrap(field.annotation)
    origin = typing.get_origin(annotation) or annotation
    if isinstance(origin, type) and issubclass(origin, BaseModel):
        return "a table"
    return _KIND_NAMES.get(origin, "")


def _unknown_key(loc: tuple[Any, ...]) -> ConfigProblem:
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    known = sorted(model.model_fields) if model else []
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        expected = f"did you mean {close[0]!r}?"
    else:
        expected = f"known keys here: {', '.join(known)}" if known else ""
    return ConfigProblem(join_path(loc), f"unknown key {key!r}", expected)


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that describes the table at `loc`, following dicts and lists."""
    current: Any = Config
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
            continue
        origin = typing.get_origin(current)
        args = typing.get_args(current)
        if origin in (dict, Mapping) and len(args) == 2:
            current = args[1]
        elif origin is list and args:
            current = args[0]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0]
        else:
            return annotation


def _cross_check(data: dict[str, Any], env: Mapping[str, str]) -> list[ConfigProblem]:
    """Checks that span several sections; tolerant of a half-valid file so every problem is reported."""
    problems: list[ConfigProblem] = []
    courses = data.get("courses") if isinstance(data.get("courses"), dict) else {}
    coupons = data.get("coupons") if isinstance(data.get("coupons"), dict) else {}
    assert isinstance(courses, dict)
    assert isinstance(coupons, dict)

    for section in ("telegram", "discord"):
        bot = data.get(section)
        if isinstance(bot, dict) and bot.get("enabled") is True:
            var = bot.get("token_env", f"CLASSPULSE_{section.upper()}_TOKEN")
            if isinstance(var, str) and not env.get(var):
                problems.append(
                    ConfigProblem(
                        f"{section}.token_env",
                        f"the environment variable {var} is not set",
                        f"export {var}=<your {section} bot token>, or set {section}.enabled = false",
                    )
                )
    problems.extend(check_telegram_environment(data.get("telegram"), env))

    relay = data.get("relay")
    if isinstance(relay, dict) and relay.get("enabled") is True:
        var = relay.get("link_secret_env", "CLASSPULSE_LINK_SECRET")
        problem = link_secret_problem(var, env) if isinstance(var, str) else None
        if problem is not None:
            problems.append(problem)

    webhook = data.get("purchase_webhook")
    if isinstance(webhook, dict) and webhook.get("enabled") is True:
        var = webhook.get("secret_env", "CLASSPULSE_PURCHASE_SECRET")
        if isinstance(var, str) and not env.get(var):
            problems.append(
                ConfigProblem(
                    "purchase_webhook.secret_env",
                    f"the environment variable {var} is not set",
                    f"export {var}=<the secret shared with the shop>, or purchase_webhook.enabled = false",
                )
            )

    campaigns = data.get("campaigns")
    if not isinstance(campaigns, list):
        return problems
    seen_campaigns: set[str] = set()
    for i, campaign in enumerate(campaigns):
        if not isinstance(campaign, dict):
            continue
        where = f"campaigns[{i}]"
        cid = campaign.get("id")
        if isinstance(cid, str):
            if cid in seen_campaigns:
                problems.append(
                    ConfigProblem(f"{where}.id", f"campaign id {cid!r} is used twice", "unique ids")
                )
            seen_campaigns.add(cid)
        course = campaign.get("course")
        if isinstance(course, str) and course not in courses:
            problems.append(_unknown_ref(f"{where}.course", "course", course, courses))
        steps = campaign.get("steps")
        if not isinstance(steps, list):
            continue
        seen_steps: set[str] = set()
        for j, step in enumerate(steps):
            if isinstance(step, dict):
                problems.extend(_check_step(f"{where}.steps[{j}]", step, coupons, courses, seen_steps))
    return problems


def _check_step(
    where: str, step: dict[str, Any], coupons: dict[str, Any], courses: dict[str, Any], seen: set[str]
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    sid = step.get("id")
    if isinstance(sid, str):
        if sid in seen:
            problems.append(
                ConfigProblem(f"{where}.id", f"step id {sid!r} is used twice in this campaign", "unique ids")
            )
        seen.add(sid)
    problems += _check_coupon(f"{where}.coupon", step.get("coupon"), coupons, step.get("to") == "groups")
    problems += _check_texts(f"{where}.text", step.get("text"))
    try:
        audience = parse_audience(step.get("audience", "everyone"))
    except Invalid:
        audience = None  # reported by the schema, with its path
    for course in sorted(courses_named(audience) if audience is not None else ()):
        if course not in courses:
            problems.append(_unknown_ref(f"{where}.audience", "course", course, courses))
    variants = step.get("variants")
    for n, variant in enumerate(variants if isinstance(variants, list) else []):
        if isinstance(variant, dict):
            here = f"{where}.variants[{n}]"
            if variant.get("coupon") != "none":
                problems += _check_coupon(f"{here}.coupon", variant.get("coupon"), coupons, False)
            problems += _check_texts(f"{here}.text", variant.get("text"))
    return problems


def _check_coupon(path: str, coupon: Any, coupons: dict[str, Any], to_groups: bool) -> list[ConfigProblem]:
    if not isinstance(coupon, str) or not coupon:
        return []
    problems = []
    if coupon not in coupons:
        problems.append(_unknown_ref(path, "coupon pool", coupon, coupons))
    if to_groups:
        problems.append(
            ConfigProblem(path, "a step sent to groups cannot carry a personal coupon", 'to = "learners"')
        )
    return problems


def _check_texts(path: str, text: Any) -> list[ConfigProblem]:
    """Every language's template must render with the sample values: caught now, not at send time."""
    problems = []
    table = {"default": text} if isinstance(text, str) else text if isinstance(text, dict) else {}
    for language, source in table.items():
        if isinstance(source, str):
            error = templates.check(source)
            if error:
                problems.append(
                    ConfigProblem(
                        path if isinstance(text, str) else f"{path}.{language}",
                        f"template does not render: {error}",
                        f"variables: {', '.join(sorted(templates.SAMPLE_CONTEXT))}",
                    )
                )
    return problems


def _unknown_ref(path: str, what: str, name: str, known: Mapping[str, Any]) -> ConfigProblem:
    close = difflib.get_close_matches(name, list(known), n=1)
    if close:
        expected = f"did you mean {close[0]!r}?"
    elif known:
        expected = f"one of: {', '.join(sorted(known))}"
    else:
        expected = f"define it first under [{what.split(maxsplit=1)[0]}s.{name}]"
    return ConfigProblem(path, f"no {what} named {name!r}", expected)
