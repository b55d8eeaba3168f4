"""Signed `/start` payloads: Telegram's way into the private chat, for the shared button callbacks.

The core's buttons carry callbacks (`bot.domain.callbacks`: join a class, claim an offer, open the private
chat). On Telegram those need the bot's private chat, so the messenger turns them into links
`https://t.me/<bot>?start=<payload>`. Telegram allows at most 64 characters of `A-Za-z0-9_-` in a payload.
A payload here names the action, its target (a class or an offer), an expiry, and ends in an HMAC-SHA256 tag
(96 bits) over all of that *and the course id*. The course id is not written out (course ids may be 40
characters long): the verifier tries the configured courses, of which there are few. So a payload cannot be
forged without the secret, nor edited to point at another class, offer, course, action or expiry.

Layout: `<J|C|S><target>E<expiry, base 36><tag, 16 chars base64url>`; targets use lower-case letters,
digits, `_` and `-`, so the upper-case letters mark the fields unambiguously.
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

from bot.domain.callbacks import Action, Callback

MAX_PAYLOAD = 64
MIN_SECRET_BYTES = 16
_TAG_CHARS = 16  # 12 bytes of HMAC in base64url
_TARGET = r"[a-z0-9_-]*"
_LETTER = {Action.JOIN: "J", Action.CLAIM: "C", Action.START: "S"}
_ACTION = {letter: action for action, letter in _LETTER.items()}
_LAYOUT = re.compile(rf"(?P<action>[JCS])(?P<target>{_TARGET})E(?P<exp>[0-9a-z]{{1,8}})")
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


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
    callback: Callback
    expires_at: datetime


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

    def make(self, callback: Callback, expires_at: datetime) -> str:
        """A payload; raises ValueError when the target does not fit Telegram's 64 characters."""
        if not re.fullmatch(_TARGET, callback.target):
            raise ValueError(f"target {callback.target!r} may use only a-z, 0-9, _ and -")
        head = f"{_LETTER[callback.action]}{callback.target}E{_base36(int(expires_at.timestamp()))}"
        payload = head + self._tag(callback.course_id, head)
        if len(payload) > MAX_PAYLOAD:
            raise ValueError(
                f"a start payload for {callback.action.value} {callback.target!r} would be {len(payload)} "
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
        """What a payload grants, or why it is refused.

        `for_class` (course, class): a join or start payload must be for that class (an offer's class is
        checked by the claim itself).
        """
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
        callback = Callback(_ACTION[fields["action"]], course_id, fields["target"])
        for_a_class = callback.action is not Action.CLAIM
        if for_class is not None and for_a_class and for_class != (callback.course_id, callback.target):
            return Refused(Refusal.OTHER_CLASS)
        return StartPayload(callback, expires_at)

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
