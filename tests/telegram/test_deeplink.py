"""Signed /start payloads: fit Telegram's 64 characters, and cannot be forged, altered, reused or kept."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from adapters.telegram.deeplink import DeepLinks, DeepLinkSecretMissing, Refusal, Refused, StartPayload
from bot.domain import callbacks
from bot.domain.callbacks import Action, Callback

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=12)
SECRET = b"0123456789abcdef-test-secret"
COURSES = ["python101", "data-science_for-everyone-advanced-2026x"]


@pytest.fixture
def links() -> DeepLinks:
    return DeepLinks(SECRET, COURSES, bot_username="classpulse_test_bot")


def join(class_id: str = "c12", course_id: str = "python101") -> Callback:
    parsed = Callback.parse(callbacks.join(course_id, class_id))
    assert parsed is not None
    return parsed


def test_a_join_payload_round_trips(links: DeepLinks) -> None:
    payload = links.make(join(), LATER)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", payload)
    assert links.parse(payload, NOW) == StartPayload(join(), LATER.replace(microsecond=0))
    assert links.link(payload) == f"https://t.me/classpulse_test_bot?start={payload}"


def test_claim_and_start_payloads_fit_even_for_the_longest_course_id(links: DeepLinks) -> None:
    for callback in (Callback(Action.CLAIM, COURSES[1], "o1234567"), Callback(Action.START, COURSES[1], "")):
        payload = links.make(callback, LATER)
        assert len(payload) <= 64
        granted = links.parse(payload, NOW)
        assert isinstance(granted, StartPayload)
        assert granted.callback == callback


def test_targets_that_would_not_fit_are_refused_when_making_the_link(links: DeepLinks) -> None:
    with pytest.raises(ValueError, match="Telegram allows 64"):
        links.make(Callback(Action.CLAIM, "python101", "o" * 45), LATER)
    with pytest.raises(ValueError, match="may use only"):
        links.make(Callback(Action.JOIN, "python101", "Class 1"), LATER)


def test_a_made_up_payload_is_refused_as_forged(links: DeepLinks) -> None:
    assert links.parse("Jc12Ez0zzzz" + "A" * 16, NOW) == Refused(Refusal.FORGED)


@pytest.mark.parametrize("field", ["action", "class", "expiry", "signature"])
def test_any_edit_of_a_payload_breaks_its_signature(links: DeepLinks, field: str) -> None:
    payload = links.make(join(), LATER)
    tampered = {
        "action": "C" + payload[1:],
        "class": payload.replace("c12", "c13", 1),
        "expiry": payload.replace("E", "Ez", 1),
        "signature": payload[:-1] + ("A" if payload[-1] != "A" else "B"),
    }[field]
    assert links.parse(tampered, NOW) == Refused(Refusal.FORGED)


def test_a_payload_signed_with_another_secret_is_forged(links: DeepLinks) -> None:
    other = DeepLinks(b"another-secret-of-enough-length", COURSES)
    assert links.parse(other.make(join(), LATER), NOW) == Refused(Refusal.FORGED)


def test_a_payload_for_a_course_this_bot_does_not_serve_is_refused(links: DeepLinks) -> None:
    elsewhere = DeepLinks(SECRET, ["rust201"])
    assert links.parse(elsewhere.make(join(course_id="rust201"), LATER), NOW) == Refused(Refusal.FORGED)


def test_an_expired_payload_is_refused(links: DeepLinks) -> None:
    payload = links.make(join(), LATER)
    assert links.parse(payload, LATER + timedelta(seconds=1)) == Refused(Refusal.EXPIRED)


def test_a_payload_cannot_be_used_for_another_class(links: DeepLinks) -> None:
    payload = links.make(join(), LATER)
    assert isinstance(links.parse(payload, NOW, for_class=("python101", "c12")), StartPayload)
    refused = links.parse(payload, NOW, for_class=("python101", "c13"))
    assert refused == Refused(Refusal.OTHER_CLASS)
    assert isinstance(refused, Refused)
    assert refused.message == "this link belongs to another class"


@pytest.mark.parametrize("payload", ["", "x" * 65, "has space", "Jc12", "Jc12E" + "A" * 16 + "é"])
def test_malformed_payloads_are_refused_with_a_reason(links: DeepLinks, payload: str) -> None:
    refused = links.parse(payload, NOW)
    assert refused == Refused(Refusal.MALFORMED)
    assert isinstance(refused, Refused)
    assert "not one of ours" in refused.message


def test_the_secret_comes_from_the_environment_and_must_be_long_enough() -> None:
    with pytest.raises(DeepLinkSecretMissing, match="CP_LINK_SECRET is not set"):
        DeepLinks.from_env({}, "CP_LINK_SECRET", COURSES)
    with pytest.raises(DeepLinkSecretMissing, match="shorter than 16 bytes") as short:
        DeepLinks.from_env({"CP_LINK_SECRET": "tiny"}, "CP_LINK_SECRET", COURSES)
    assert "tiny" not in str(short.value)
    links = DeepLinks.from_env({"CP_LINK_SECRET": SECRET.decode()}, "CP_LINK_SECRET", COURSES)
    assert isinstance(links.parse(links.make(join(), LATER), NOW), StartPayload)
