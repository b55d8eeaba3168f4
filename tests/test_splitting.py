"""Splitting long messages into parts a platform accepts, cut where a careful person would cut."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot import formatting
from bot.domain import Platform
from bot.splitting import split_rendered

D = Platform.DISCORD


def words(text: str) -> list[str]:
    """The words a reader sees: link targets, which a cut inside a link label repeats, left out."""
    return re.findall(r"\w+", re.sub(r"\(<[^>]*>\)", " ", text))


def test_a_short_text_is_one_part_and_a_blank_one_none() -> None:
    assert split_rendered("Hello *there*", 2000, D) == [r"Hello \*there\*"]
    assert split_rendered(" \n ", 2000, D) == []


def test_parts_end_at_paragraphs_before_lines_sentences_and_words() -> None:
    text = "First paragraph, quite long here.\n\nSecond one. It has two sentences."
    assert split_rendered(text, 50, D) == [
        "First paragraph, quite long here.",
        "Second one. It has two sentences.",
    ]

    lines = "line one is here\nline two is here\nline three"
    assert split_rendered(lines, 36, D) == ["line one is here\nline two is here", "line three"]

    sentences = "One sentence ends. Another one follows it here"
    assert split_rendered(sentences, 40, D)[0] == "One sentence ends."


def test_a_part_is_filled_before_it_is_cut_rather_than_cut_at_an_early_paragraph() -> None:
    text = "Hi!\n\n" + "word " * 30
    parts = split_rendered(text, 100, D)
    assert len(parts[0]) > 50  # not "Hi!" alone, then the rest
    assert all(len(p) <= 100 for p in parts)


def test_formatting_open_at_a_cut_is_closed_and_reopened() -> None:
    text = formatting.bold("alpha beta gamma delta epsilon zeta")
    parts = split_rendered(text, 20, D)
    assert all(p.startswith("**") and p.endswith("**") for p in parts)
    assert words(" ".join(parts)) == ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]


def test_a_cut_never_falls_inside_a_mention() -> None:
    text = "Well done " + formatting.mention("123456", "Ada Lovelace Byron") + " and everyone else here today"
    parts = split_rendered(text, 60, Platform.TELEGRAM)
    joined = "".join(parts)
    assert joined.count('<a href="tg://user?id=123456">') == 1


def test_escaping_is_counted_so_no_part_overflows() -> None:
    text = "_*~`|" * 100  # every character doubles when escaped for Discord
    parts = split_rendered(text, 99, D)
    assert all(len(p) <= 99 for p in parts)
    assert all(not p.endswith("\\") for p in parts)  # never a dangling escape


def test_a_word_longer_than_a_part_is_cut_as_a_last_resort() -> None:
    parts = split_rendered("x" * 250, 100, D)
    assert [len(p) for p in parts] == [100, 100, 50]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet="abc xyz.?!\n*_", min_size=1, max_size=40),
            st.builds(formatting.bold, st.text(alphabet="abc de", min_size=1, max_size=30)),
            st.builds(
                formatting.link, st.text(alphabet="abc de", min_size=1, max_size=20), st.just("https://e.x/a")
            ),
        ),
        max_size=40,
    ),
    st.integers(min_value=40, max_value=300),
)
def test_every_part_fits_and_no_word_is_lost(pieces: list[str], limit: int) -> None:
    text = "".join(pieces)
    parts = split_rendered(text, limit, D)
    assert all(len(p) <= limit for p in parts)
    whole = formatting.render(text, D)
    # Cuts fall between words or split an over-long word; the words read in order either way.
    assert "".join(words(" ".join(parts))) == "".join(words(whole))
