"""Splitting long Telegram HTML: each part fits and parses on its own; cuts fall where a reader expects."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.telegram.splitting import split_html, visible_length
from bot import formatting
from bot.domain import Platform
from tests.emulators.telegram_html import parse_html


def render(text: str) -> str:
    return formatting.render(text, Platform.TELEGRAM)


def test_a_short_text_is_one_part() -> None:
    assert split_html("<b>hi</b> &amp; bye") == ["<b>hi</b> &amp; bye"]


def test_tags_and_entities_do_not_count_towards_the_limit() -> None:
    html = "<b>" + "&amp;" * 10 + "</b>"
    assert visible_length(html) == 10
    assert split_html(html, limit=10) == [html]


def test_the_cut_prefers_a_paragraph_break_then_a_line_break_then_a_space() -> None:
    assert split_html("aaaa bbbb\ncccc\n\ndddd", limit=16) == ["aaaa bbbb\ncccc", "dddd"]
    assert split_html("aaaa bbbb\ncccc dddd", limit=16) == ["aaaa bbbb", "cccc dddd"]
    assert split_html("aaaa bbbb cccc dddd", limit=16) == ["aaaa bbbb cccc", "dddd"]
    assert split_html("abcdefghij", limit=4) == ["abcd", "efgh", "ij"]


def test_formatting_open_at_a_cut_is_closed_and_opened_again() -> None:
    html = '<b>bold <a href="https://x.example/?a=1&amp;b=2">a long link</a> text</b>'
    parts = split_html(html, limit=12)
    assert parts == [
        '<b>bold <a href="https://x.example/?a=1&amp;b=2">a long</a></b>',
        '<b><a href="https://x.example/?a=1&amp;b=2">link</a> text</b>',
    ]
    for part in parts:
        parse_html(part)


def test_an_entity_is_never_cut() -> None:
    assert split_html("ab&amp;cd", limit=3) == ["ab&amp;", "cd"]


_words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12
)
_piece = st.one_of(
    _words,
    _words.map(formatting.bold),
    _words.map(formatting.italic),
    _words.map(formatting.code),
    st.tuples(_words, st.sampled_from(["https://a.example/?q=1&r=<2>", "https://b.example"])).map(
        lambda p: formatting.link(*p)
    ),
    st.sampled_from([" ", "\n", "\n\n", "<", "&", ">"]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_piece, max_size=60), st.integers(min_value=8, max_value=80))
def test_every_part_fits_parses_and_together_they_keep_every_word(pieces: list[str], limit: int) -> None:
    html = render("".join(pieces))
    parts = split_html(html, limit=limit)
    whole = parse_html(html).text if html.strip() else ""
    texts = [parse_html(part).text for part in parts]  # each part is valid Telegram HTML on its own
    assert all(len(text) <= limit for text in texts)
    assert "".join("".join(t.split()) for t in texts) == "".join(whole.split())
