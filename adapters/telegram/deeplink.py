"""Signed `/start` payloads for `https://t.me/<bot>?start=<payload>`.

Telegram allows at most 64 characters of `A-Za-z0-9_-` in a start payload. A payload here names what it is
for (join a class, claim an offer), the class, an optional offer reference and an expiry, and ends in an
HMAC-SHA256 tag (96 bits) over all of that *and the course id*. The course id is not written out (course ids
may be 40 characters long): the verifier tries the configured courses, of which there are few. So a payload
cannot be forged without the secret, nor edited to point at another class, course, purpose or expiry.

Layout: `<J|C><class>[R<ref>]E<expiry, base 36><tag, 16 chars base64url>`; class ids and offer references
use lower-case letters, digits, `_` and `-`, so the upper-case letters mark the fields unambiguously.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

MAX_PAYLOAD = 64
MIN_SECRET_BYTES = 16
_TAG_CHARS = 16  # 12 bytes of HMAC in base64url
_FIELD = r"[a-z0-9_-]+"
_LAYOUT = re.compile(rf"(?P<purpose>[JC])(?P<cls>{_FIELD})(?:R(?P<ref>{_FIELD}))?E(?P<exp>[0-9a-z]{{1,8}})")
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


class Purpose(StrEnum):
    JOIN = "J"  # join a live class: the answer is the learner's personal class link
    CLAIM = "C"  # claim a flash offer


class Refusal(StrEnum):
    MALFORMED = "malformed"
    FORGED = "forged"
    EXPIRED = "expired"
    OTHER_CLASS = "other_class"


_EXPLAIN = {
    Refusal.MALFORMED: "this link is not one of ours (it may have been cut short)",
    Refusal.FORGED: "this link's signature does not match: it was altered or made up",
    Refusal.EXPIRED: "this link has expired",
    Refusal.OTHER_CLASS: "this link belongs to another class",
}


@dataclass(frozen=True, slots=True)
class StartPayload:
    purpose: Purpose
    course_id: str
    class_id: str
    expires_at: datetime
    ref: str = ""


@dataclass(frozen=True, slots=True)
class Refused:
    reason: Refusal

    @property
    def message(self) -> str:
        return _EXPLAIN[self.reason]


class DeepLinkSecretMissing(Exception):
    """The environment variable that should hold the deep-link secret is unset or too short."""


class DeepLinks:
    def __init__(self, secret: bytes, courses: Iterable[str], bot_username: str = "") -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the deep-link secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self._courses = tuple(courses)
        self.bot_username = bot_username

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str], variable: str, courses: Iterable[str], bot_username: str = ""
    ) -> DeepLinks:
        value = environ.get(variable, "")
        if len(value.encode()) < MIN_SECRET_BYTES:
            problem = "is not set" if not value else f"is shorter than {MIN_SECRET_BYTES} bytes"
            raise DeepLinkSecretMissing(
                f"the environment variable {variable} {problem}: set it to a long random string, "
                f'e.g. export {variable}="$(openssl rand -hex 32)"'
            )
        return cls(value.encode(), courses, bot_username)

    def make(
        self, purpose: Purpose, course_id: str, class_id: str, expires_at: datetime, ref: str = ""
    ) -> str:
        """A payload; raises ValueError when the ids do not fit Telegram's 64 characters."""
        for name, value in (("class id", class_id), ("offer reference", ref)):
            if value and not re.fullmatch(_FIELD, value):
                raise ValueError(f"{name} {value!r} may use only a-z, 0-9, _ and -")
        if not class_id:
            raise ValueError("a deep link needs a class id")
        expiry = _base36(int(expires_at.timestamp()))
        head = f"{purpose.value}{class_id}{'R' + ref if ref else ''}E{expiry}"
        payload = head + self._tag(course_id, head)
        if len(payload) > MAX_PAYLOAD:
            raise ValueError(
                f"a start payload for class {class_id!r} and reference {ref!r} would be {len(payload)} "
                f"characters; Telegram allows {MAX_PAYLOAD}"
            )
        return payload

    def link(self, payload: str) -> str:
        if not self.bot_username:
            raise ValueError("the bot's username is not known yet (telegram.bot_username or getMe)")
        return f"https://t.me/{self.bot_username}?start={payload}"

    def parse(
        self, payload: str, now: datetime, *, for_class: tuple[str, str] | None = None
    ) -> StartPayload | Refused:
        """What a payload grants, or why it is refused. `for_class`: (course, class) it must belong to."""
        if not 0 < len(payload) <= MAX_PAYLOAD or not _ALPHABET.fullmatch(payload):
            return Refused(Refusal.MALFORMED)
        head, tag = payload[:-_TAG_CHARS], payload[-_TAG_CHARS:]
        fields = _LAYOUT.fullmatch(head)
        if fields is None:
            return Refused(Refusal.MALFORMED)
        course_id = next((c for c in self._courses if hmac.compare_digest(self._tag(c, head), tag)), None)
        if course_id is None:
            return Refused(Refusal.FORGED)
        expires_at = datetime.fromtimestamp(int(fields["exp"], 36), UTC)
        if now >= expires_at:
            return Refused(Refusal.EXPIRED)
        granted = StartPayload(
            Purpose(fields["purpose"]), course_id, fields["cls"], expires_at, fields["ref"] or ""
        )
        if for_class is not None and for_class != (granted.course_id, granted.class_id):
            return Refused(Refusal.OTHER_CLASS)
        return granted

    def _tag(self, course_id: str, head: str) -> str:
        # The course id is signed but not carried; "|" cannot occur in a course id or a head.
        digest = hmac.new(self._secret, f"classpulse-start-v1|{course_id}|{head}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()[:12]).decode()


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out
