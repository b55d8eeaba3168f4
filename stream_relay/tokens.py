"""Personal link tokens: compact, URL-safe, HMAC-signed, expiring, and opaque.

A token is 32 bytes, base64url without padding (43 characters):

    version (1) | expires, unix seconds (4) | grant id (9) | grant tag (6) | token tag (12)

Why an opaque grant id rather than the learner, course and class encrypted into the token: the standard
library has no cipher, and a home-made one is the wrong place to save a dependency; an id that points at a
record in the store reveals nothing, not even to someone who later learns the secret; the relay reads the
store on every request anyway (the class window, the heartbeat pace), and the records are immutable, so the
server caches them. The grant id is itself a keyed hash of (course, class, learner): issuing the link again
gives the same id, so re-sending reminders never piles up records.

Two tags tell a forgery from tampering: the grant tag signs the grant id alone, the token tag signs all of
it. A token whose grant tag fails was never made with our secret (forged); one whose grant tag holds but
whose token tag fails is a real token with a changed field, such as a pushed-back expiry (tampered).
"""

from __future__ import annotations

import base64
import hmac
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from bot.domain import LinkGrant
from stream_relay.lru import Lru

VERSION = 1
_ID_LEN, _ID_TAG_LEN, _TAG_LEN = 9, 6, 12
_HEAD = struct.Struct(">BI")  # version, expiry
_SIGNED_LEN = _HEAD.size + _ID_LEN + _ID_TAG_LEN
TOKEN_BYTES = _SIGNED_LEN + _TAG_LEN
TOKEN_LENGTH = 43  # base64url characters of TOKEN_BYTES, unpadded
_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")


class Rejection(StrEnum):
    MALFORMED = "malformed"  # not a token at all: wrong length, alphabet or version
    FORGED = "forged"  # not made with our secret
    TAMPERED = "tampered"  # made by us, then changed
    EXPIRED = "expired"  # genuine, but past its expiry
    UNKNOWN = "unknown"  # genuine, but the store no longer knows its grant

    @property
    def explanation(self) -> str:
        return _EXPLANATIONS[self]


_EXPLANATIONS = {
    Rejection.MALFORMED: "This is not a valid class link. Please use the link exactly as you received it.",
    Rejection.FORGED: "This class link was not issued by us.",
    Rejection.TAMPERED: "This class link has been altered. Please use the link exactly as you received it.",
    Rejection.EXPIRED: "This class link has expired: the class is over.",
    Rejection.UNKNOWN: "This class link is no longer valid.",
}


class TokenRejected(Exception):
    def __init__(self, reason: Rejection) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    grant_id: str  # hex; the key of the grant record in the store
    expires_at: datetime


class LinkSigner:
    """Makes and checks tokens with keys derived from one secret (kept in the environment, never on disk)."""

    def __init__(self, secret: bytes, cache_size: int = 100_000) -> None:
        if len(secret) < 16:
            raise ValueError("the link secret must be at least 16 bytes")
        # Separate keys per use, so that no tag of one kind can ever be replayed as another.
        self._id_key = hmac.digest(secret, b"classpulse/link/grant-id", "sha256")
        self._id_tag_key = hmac.digest(secret, b"classpulse/link/grant-tag", "sha256")
        self._tag_key = hmac.digest(secret, b"classpulse/link/token-tag", "sha256")
        # A page sends its token with every heartbeat: checking a token once is enough (its expiry, always).
        # Plain tuples of (grant id, expiry) rather than VerifiedTokens: the garbage collector skips those.
        self._verified: Lru[str, tuple[str, float]] = Lru(cache_size)

    def grant_id(self, grant: LinkGrant) -> str:
        # Unit separators keep ("a", "bc") and ("ab", "c") apart.
        material = "\x1f".join((grant.course_id, grant.class_id, grant.learner_id)).encode()
        return hmac.digest(self._id_key, material, "sha256")[:_ID_LEN].hex()

    def sign(self, grant_id: str, expires_at: datetime) -> str:
        raw_id = bytes.fromhex(grant_id)
        if len(raw_id) != _ID_LEN:
            raise ValueError(f"a grant id is {_ID_LEN} bytes, got {len(raw_id)}")
        expiry = int(expires_at.timestamp())
        if not 0 < expiry < 2**32:
            raise ValueError(f"expiry {expires_at.isoformat()} is out of range")
        signed = _HEAD.pack(VERSION, expiry) + raw_id + self._id_tag(raw_id)
        token = signed + hmac.digest(self._tag_key, signed, "sha256")[:_TAG_LEN]
        return base64.urlsafe_b64encode(token).rstrip(b"=").decode("ascii")

    def verify(self, token: str, now: datetime) -> VerifiedToken:
        """The grant a token names; TokenRejected with the reason when it is not a valid, current token."""
        known = self._verified.get(token)
        if known is not None:
            if now.timestamp() >= known[1]:
                raise TokenRejected(Rejection.EXPIRED)
            return VerifiedToken(known[0], datetime.fromtimestamp(known[1], UTC))
        if not _SHAPE.match(token):
            raise TokenRejected(Rejection.MALFORMED)
        raw = base64.urlsafe_b64decode(token + "=")
        # The last character carries two spare bits: only the canonical spelling of a token is valid.
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
            raise TokenRejected(Rejection.MALFORMED)
        version, expiry = _HEAD.unpack_from(raw)
        if version != VERSION:
            raise TokenRejected(Rejection.MALFORMED)
        raw_id = raw[_HEAD.size : _HEAD.size + _ID_LEN]
        if not hmac.compare_digest(raw[_HEAD.size + _ID_LEN : _SIGNED_LEN], self._id_tag(raw_id)):
            raise TokenRejected(Rejection.FORGED)
        tag = hmac.digest(self._tag_key, raw[:_SIGNED_LEN], "sha256")[:_TAG_LEN]
        if not hmac.compare_digest(raw[_SIGNED_LEN:], tag):
            raise TokenRejected(Rejection.TAMPERED)
        verified = VerifiedToken(raw_id.hex(), datetime.fromtimestamp(expiry, UTC))
        self._verified.put(token, (verified.grant_id, float(expiry)))
        if now >= verified.expires_at:
            raise TokenRejected(Rejection.EXPIRED)
        return verified

    def _id_tag(self, raw_id: bytes) -> bytes:
        return hmac.digest(self._id_tag_key, raw_id, "sha256")[:_ID_TAG_LEN]
