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
