"""Message templates: jinja2 in a sandbox, strict about unknown variables, producing neutral markup.

Admins write templates in the config; `config check` compiles and test-renders every one of them with
`SAMPLE_CONTEXT`, so that a typo is found before a class, not at send time.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot import formatting

# Every variable a campaign template may use, with a sample value for test renders.
SAMPLE_CONTEXT: Mapping[str, Any] = {
    "name": "Ada",
    "course": "Python 101",
    "class_title": "Decorators, live",
    "class_time": "Tue 24 Nov 19:00 (Europe/London)",
    "link": "https://classpulse.example/j/token",
    "stream_url": "https://youtube.com/live/abc",
    "replay_url": "https://youtube.com/watch?v=abc",
    "buy_url": "https://shop.example/python101",
    "buy_link": "https://shop.example/python101?cp_ref=cHl0aG9uMTAxfHRnLTE.4f2a9c",
    "price": "199 USD",
    "coupon": "PY-7K2M9QX4TR",
    "coupon_label": "20% off",
    "deadline": "Thu 26 Nov 19:00 (Europe/London)",
    "segment": "hot",
    "watched_minutes": 52,
    "class_minutes": 60,
}


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )
    env.filters["bold"] = formatting.bold
    env.filters["italic"] = formatting.italic
    env.filters["code"] = formatting.code
    env.filters["link"] = lambda label, url: formatting.link(str(label), str(url))
    return env


_ENV = _environment()


@lru_cache(maxsize=512)
def _compile(source: str) -> Any:
    return _ENV.from_string(formatting.sanitize(source))


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render a template to neutral markup; string values are sanitised so users cannot forge markup."""
    clean = {k: formatting.sanitize(v) if isinstance(v, str) else v for k, v in context.items()}
    return str(_compile(source).render(clean))


def check(source: str) -> str | None:
    """Why `source` would fail to render, or None when it renders with the sample context."""
    try:
        render(source, SAMPLE_CONTEXT)
    except TemplateError as exc:
        return exc.message or type(exc).__name__
    except Exception as exc:  # a sandbox violation or a bad filter argument: still the admin's template
        return str(exc) or type(exc).__name__
    return None
