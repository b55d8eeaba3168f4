"""Neutral markup: plain text is escaped for each platform; only our own helpers make formatting."""

from __future__ import annotations

from bot import formatting, templates
from bot.domain import Platform


def test_plain_text_is_escaped_and_tags_become_platform_markup() -> None:
    text = f"{formatting.bold('Offer')} for <Bob & *Co*>: {formatting.link('buy', 'https://x.test/?a=1&b=2')}"
    assert formatting.render(text, Platform.TELEGRAM) == (
        '<b>Offer</b> for &lt;Bob &amp; *Co*&gt;: <a href="https://x.test/?a=1&amp;b=2">buy</a>'
    )
    assert formatting.render(text, Platform.DISCORD) == (
        "**Offer** for <Bob & \\*Co\\*\\>: [buy](<https://x.test/?a=1&b=2>)"
    )
    assert formatting.plain(text) == "Offer for <Bob & *Co*>: buy (https://x.test/?a=1&b=2)"


def test_a_user_cannot_forge_markup_through_a_template_value() -> None:
    forged = "\x0eb\x0fshouting\x0e/b\x0f"
    rendered = templates.render("Hi {{ name }}", {"name": forged})
    assert formatting.render(rendered, Platform.TELEGRAM) == "Hi bshouting/b"  # no <b>: the tag is gone


def test_mass_mentions_are_defused_on_discord() -> None:
    assert formatting.render("@everyone @here", Platform.DISCORD) == "@\u200beveryone @\u200bhere"


def test_templates_reject_unknown_variables_and_unsafe_access() -> None:
    assert templates.check("Hi {{ name }}") is None
    assert templates.check("Hi {{ nmae }}") == "'nmae' is undefined"
    assert templates.check("{{ name.__class__.__mro__ }}") is not None


def test_a_discord_mention_shows_the_members_name_once() -> None:
    text = f"{formatting.mention('42', 'Ada *L*')}, your offer"
    assert formatting.render(text, Platform.DISCORD) == "<@42>, your offer"  # Discord shows the name
    assert formatting.render(text, Platform.TELEGRAM) == '<a href="tg://user?id=42">Ada *L*</a>, your offer'


def test_emphasis_keeps_surrounding_whitespace_outside_its_markers() -> None:
    text = formatting.bold("Decorators ") + "today," + formatting.italic(" maybe")
    assert formatting.render(text, Platform.DISCORD) == "**Decorators** today, *maybe*"
    assert formatting.render(text, Platform.TELEGRAM) == "<b>Decorators</b> today, <i>maybe</i>"
    assert formatting.render(formatting.bold("  "), Platform.DISCORD) == "  "  # never a bare "****"


def test_code_spans_on_discord_show_their_text_as_it_is() -> None:
    text = f"Your code: {formatting.code('PY-7K2M_9Q*')} and {formatting.code('a`b')}"
    # Inside a code span Discord shows backslashes literally, so nothing is escaped there; a backtick
    # cannot end the span early.
    assert formatting.render(text, Platform.DISCORD) == "Your code: `PY-7K2M_9Q*` and `a\u02cbb`"
    assert formatting.render(formatting.code("a<b"), Platform.TELEGRAM) == "<code>a&lt;b</code>"


def test_a_link_whose_label_is_its_address_is_a_plain_link_on_discord() -> None:
    url = "https://relay.example/c/x_1"
    text = f"Your link: {formatting.link(url, url)} or {formatting.link('the replay', url)}"
    assert formatting.render(text, Platform.DISCORD) == (
        f"Your link: <{url}> or [the replay](<{url}>)"  # Discord refuses a masked link that looks like one
    )
    assert formatting.render(text, Platform.TELEGRAM) == (
        f'Your link: <a href="{url}">{url}</a> or <a href="{url}">the replay</a>'
    )
