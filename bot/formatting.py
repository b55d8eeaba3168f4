"""Neutral message markup, and its rendering for each platform.

Everything ClassPulse writes to a chat (campaign templates, command replies) is a plain string in which
formatting is marked by control-character tags, built only by the helpers below. At send time the adapter
renders it for its platform: every piece of text between tags is escaped for that platform (HTML for
Telegram, Markdown for Discord), so that a learner's name or an admin's literal "<" can never break a
message or inject formatting. User-supplied values pass through `sanitize`, which strips the tag characters,
so a user cannot forge a tag either.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Final

from bot.domain.platforms import Platform

_OPEN: Final = "\x0e"
_CLOSE: Final = "\x0f"
_TAG = re.compile("\x0e([^\x0f]*)\x0f")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def sanitize(value: str) -> str:
    """Strip control characters (and with them any forged markup tag) from user-supplied text."""
    return _CONTROL.sub("", value)


def _tag(name: str) -> str:
    return f"{_OPEN}{name}{_CLOSE}"


def _emphasis(name: str, text: str) -> str:
    # Whitespace stays outside the markers: Discord shows "**x **" literally, and "<b>x </b>" looks the same
    # as "<b>x</b> " on Telegram. Nothing to emphasise: no markers at all (Discord shows a bare "****").
    core = text.strip()
    if not core:
        return text
    start = text.index(core)
    return f"{text[:start]}{_tag(name)}{core}{_tag('/' + name)}{text[start + len(core) :]}"


def bold(text: str) -> str:
    return _emphasis("b", text)


def italic(text: str) -> str:
    return _emphasis("i", text)


def code(text: str) -> str:
    return f"{_tag('code')}{text}{_tag('/code')}"


def link(label: str, url: str) -> str:
    return f"{_tag('a ' + sanitize(url))}{label}{_tag('/a')}"


def mention(platform_user_id: str, label: str) -> str:
    """A mention of a user; rendered as a real mention where the platform has them."""
    return f"{_tag('@' + sanitize(platform_user_id))}{label}{_tag('/@')}"


class _Renderer:
    def __init__(
        self,
        escape: Callable[[str], str],
        tags: dict[str, str],
        link_open: str,
        link_close: str,
        *,
        code_escape: Callable[[str], str] | None = None,
        mention_shows_label: bool = True,
        self_link: str = "",
    ) -> None:
        self.escape = escape
        self.tags = tags
        self.link_open = link_open  # format string with {url}
        self.link_close = link_close
        self.code_escape = code_escape or escape  # text inside a code span
        # False where the platform shows the person's name itself (a Discord mention): the label is dropped.
        self.mention_shows_label = mention_shows_label
        # How a link whose label is its own address is shown where a platform has its own way ("": as others).
        self.self_link = self_link

    def render(self, text: str) -> str:
        out: list[str] = []
        pos = 0
        url_stack: list[str] = []
        in_code = hidden = False
        for match in _TAG.finditer(text):
            if match.start() < pos:
                continue  # consumed with a self-link
            if not hidden:
                out.append((self.code_escape if in_code else self.escape)(text[pos : match.start()]))
            pos = match.end()
            tag = match.group(1)
            if hidden and tag != "/@":
                continue  # formatting inside a label that is not shown
            if tag.startswith("a ") and self.self_link and text.startswith(tag[2:] + _tag("/a"), pos):
                out.append(self.self_link.format(url=tag[2:]))
                pos += len(tag[2:] + _tag("/a"))
            elif tag.startswith("a "):
                url_stack.append(tag[2:])
                out.append(self.link_open.format(url=self._url(tag[2:])))
            elif tag == "/a":
                url = url_stack.pop() if url_stack else ""
                out.append(self.link_close.format(url=self._url(url)))
            elif tag.startswith("@"):
                out.append(self.tags.get("@", "").format(id=tag[1:]))
                hidden = not self.mention_shows_label
            else:
                hidden = False
                in_code = tag == "code" or (in_code and tag != "/code")
                out.append(self.tags.get(tag, ""))
        if not hidden:
            out.append((self.code_escape if in_code else self.escape)(text[pos:]))
        return "".join(out)

    def _url(self, url: str) -> str:
        return html.escape(url, quote=True) if self.escape is _html_escape else url


def _html_escape(text: str) -> str:
    return html.escape(text, quote=False)


_MARKDOWN_SPECIAL = re.compile(r"([\\*_~`|>#\[\]()-])")


def _markdown_escape(text: str) -> str:
    # Escape Markdown, and defuse mass mentions so a learner's name can never ping a whole server.
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return escaped.replace("@everyone", "@\u200beveryone").replace("@here", "@\u200bhere")


def _markdown_code(text: str) -> str:
    # Inside a code span Discord shows backslashes as they are, so nothing is escaped there; a backtick
    # would end the span early and becomes the look-alike modifier letter grave accent.
    return text.replace("`", "\u02cb")


def _plain(text: str) -> str:
    return text


_HTML = _Renderer(
    _html_escape,
    {
        "b": "<b>",
        "/b": "</b>",
        "i": "<i>",
        "/i": "</i>",
        "code": "<code>",
        "/code": "</code>",
        "@": '<a href="tg://user?id={id}">',
        "/@": "</a>",
    },
    '<a href="{url}">',
    "</a>",
)
_MARKDOWN = _Renderer(
    _markdown_escape,
    {"b": "**", "/b": "**", "i": "*", "/i": "*", "code": "`", "/code": "`", "@": "<@{id}>", "/@": ""},
    "[",
    "](<{url}>)",
    code_escape=_markdown_code,
    mention_shows_label=False,  # Discord shows the member's name in place of <@id>
    self_link="<{url}>",  # Discord refuses a masked link whose text is an address; <url> is a plain link
)
_PLAIN = _Renderer(_plain, {}, "", " ({url})")

_BY_PLATFORM: dict[Platform, _Renderer] = {
    Platform.TELEGRAM: _HTML,
    Platform.DISCORD: _MARKDOWN,
    Platform.WEB: _PLAIN,
    Platform.CONSOLE: _PLAIN,
}


def render(text: str, platform: Platform) -> str:
    """Turn neutral markup into what `platform` displays, escaping every piece of plain text."""
    return _BY_PLATFORM[platform].render(text)


def plain(text: str) -> str:
    """The text without any formatting, links shown after their label."""
    return _PLAIN.render(text)
