"""Personal link tokens: what a valid token carries, and the reason each kind of bad token is refused."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import LinkGrant
from stream_relay.tokens import TOKEN_LENGTH, LinkSigner, Rejection, TokenRejected

NOW = datetime(2026, 11, 2, 18, 0, tzinfo=UTC)
GRANT = LinkGrant("py101", "c7", "tg-123456789")
signer = LinkSigner(b"s" * 32)


def _token(expires: datetime = NOW + timedelta(hours=3), s: LinkSigner = signer) -> str:
    return s.sign(s.grant_id(GRANT), expires)


def _reason(token: str, now: datetime = NOW) -> Rejection:
    with pytest.raises(TokenRejected) as caught:
        signer.verify(token, now)
    return caught.value.reason


def _edit(token: str, at: int, value: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "="))
    raw[at] = value
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def test_a_token_is_43_url_safe_characters_and_names_its_grant_until_expiry() -> None:
    token = _token()
    assert len(token) == TOKEN_LENGTH
    assert token.replace("-", "").replace("_", "").isalnum()
    verified = signer.verify(token, NOW)
    assert verified.grant_id == signer.grant_id(GRANT)
    assert verified.expires_at == NOW + timedelta(hours=3)


def test_the_token_reveals_neither_learner_nor_course_nor_class() -> None:
    token = _token()
    raw = base64.urlsafe_b64decode(token + "=")
    for secret_part in ("tg-123456789", "123456789", "py101", "c7"):
        assert secret_part not in token
        assert secret_part.encode() not in raw


def test_the_same_grant_gets_the_same_id_and_other_grants_other_ids() -> None:
    assert signer.grant_id(GRANT) == signer.grant_id(LinkGrant("py101", "c7", "tg-123456789"))
    others = {
        signer.grant_id(LinkGrant("py101", "c7", "tg-1234567890")),
        signer.grant_id(LinkGrant("py101", "c", "7tg-123456789")),
        signer.grant_id(LinkGrant("py101", "c8", "tg-123456789")),
    }
    assert signer.grant_id(GRANT) not in others
    assert len(others) == 3


def test_an_expired_token_is_refused_as_expired() -> None:
    token = _token(expires=NOW + timedelta(minutes=1))
    assert signer.verify(token, NOW + timedelta(seconds=59)).grant_id
    assert _reason(token, NOW + timedelta(minutes=1)) is Rejection.EXPIRED


def test_a_token_made_with_another_secret_is_refused_as_forged() -> None:
    assert _reason(_token(s=LinkSigner(b"another secret of 32 characters!"))) is Rejection.FORGED


def test_a_changed_grant_id_is_forged_and_a_pushed_back_expiry_is_tampered() -> None:
    token = _token(expires=NOW - timedelta(minutes=1))
    raw = base64.urlsafe_b64decode(token + "=")
    assert _reason(_edit(token, 7, raw[7] ^ 0x01)) is Rejection.FORGED  # inside the grant id
    assert _reason(_edit(token, 1, raw[1] + 1)) is Rejection.TAMPERED  # the expiry, pushed back years
    assert _reason(_edit(token, 31, raw[31] ^ 0x80)) is Rejection.TAMPERED  # the token tag itself


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "x" * 44,
        "!" * 43,
        "A" * 42 + "=",
    ],
)
def test_anything_that_is_not_a_token_is_malformed(token: str) -> None:
    assert _reason(token) is Rejection.MALFORMED


def test_an_unknown_version_and_a_non_canonical_spelling_are_malformed() -> None:
    token = _token()
    assert _reason(_edit(token, 0, 2)) is Rejection.MALFORMED
    # 32 bytes leave two spare bits in the last character: flipping them decodes to the same bytes.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    respelled = token[:-1] + alphabet[last ^ 0b01]
    assert base64.urlsafe_b64decode(respelled + "=") == base64.urlsafe_b64decode(token + "=")
    assert _reason(respelled) is Rejection.MALFORMED


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        LinkSigner(b"short")
