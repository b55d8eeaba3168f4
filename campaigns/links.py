"""Personal buy links: the shop link with a signed `cp_ref` that names the course and the learner.

The shop passes the ref back in the purchase webhook, so a purchase made through the link is the learner's
even without a coupon, and the shop's own customer id can be linked to the learner on that first purchase.
The signature (HMAC-SHA256, truncated to 64 bits) keeps anyone from forging a ref for somebody else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REF_PARAM = "cp_ref"


def _sign(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()[:16]


def make_ref(secret: bytes, course_id: str, learner_id: str) -> str:
    payload = base64.urlsafe_b64encode(f"{course_id}|{learner_id}".encode()).decode().rstrip("=")
    return f"{payload}.{_sign(secret, payload)}"


def read_ref(secret: bytes, ref: str) -> tuple[str, str] | None:
    """(course id, learner id) of a genuine ref, else None."""
    payload, _, signature = ref.partition(".")
    if not payload or not hmac.compare_digest(_sign(secret, payload), signature):
        return None
    try:
        decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    course_id, sep, learner_id = decoded.partition("|")
    return (course_id, learner_id) if sep and course_id and learner_id else None


def buy_link(buy_url: str, secret: bytes | None, course_id: str, learner_id: str) -> str:
    """The learner's personal buy link; the plain shop link when no secret is configured."""
    if not buy_url or secret is None:
        return buy_url
    parts = urlsplit(buy_url)
    query = [
        *parse_qsl(parts.query, keep_blank_values=True),
        (REF_PARAM, make_ref(secret, course_id, learner_id)),
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))
