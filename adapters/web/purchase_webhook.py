"""`POST /webhooks/purchase`: a shop tells ClassPulse about an order.

The shop signs every request: `X-ClassPulse-Timestamp` holds the Unix time in seconds and
`X-ClassPulse-Signature` is `sha256=` + the hex HMAC-SHA256, keyed with the shared secret, of
`<timestamp>.<raw body>`. A missing, stale (older or newer than `purchase_webhook.max_age`) or wrong
signature gets 401 with the reason and nothing is recorded.

The body is JSON: `order_id`, `course`, `amount`, `currency` (required); `order_total` (before the
discount), `paid_at` (ISO 8601), and at least one way to tell the learner: `coupon` (their personal code),
`ref` (the `cp_ref` of their personal buy link), `external_id` (the shop's customer id, linked to the
learner the first time it comes with a coupon or a ref). The answer is idempotent on `order_id`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from aiohttp import web

from bot.config import Config
from bot.domain import DomainError, Purchase
from bot.ports import Clock, Coupons
from bot.usecases.purchases import Purchases
from campaigns.links import read_ref

log = logging.getLogger(__name__)

PATH = "/webhooks/purchase"
TIMESTAMP_HEADER = "X-ClassPulse-Timestamp"
SIGNATURE_HEADER = "X-ClassPulse-Signature"
MAX_BODY = 64 * 1024


class OrderLookup(Protocol):
    async def exists(self, course_id: str, order_id: str) -> bool: ...

    async def attribution(self, course_id: str, order_id: str) -> str: ...


class ExternalIds(Protocol):
    async def link_external(self, course_id: str, external_id: str, learner_id: str) -> str: ...

    async def find_external(self, course_id: str, external_id: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class PurchaseWebhook:
    """What the handler needs; built by the composition root."""

    config: Config
    secret: bytes
    clock: Clock
    purchases: Purchases
    coupons: Coupons
    orders: OrderLookup
    external_ids: ExternalIds
    ref_secret: bytes | None = None


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _refuse(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


class _BadPayload(Exception):
    pass


def _field(data: dict[str, Any], name: str, kind: type | tuple[type, ...], required: bool = True) -> Any:
    value = data.get(name)
    if value is None:
        if required:
            raise _BadPayload(f"missing field {name!r}")
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        raise _BadPayload(f"field {name!r} has the wrong type")
    return value


def add_purchase_routes(app: web.Application, webhook: PurchaseWebhook) -> None:
    """Mount `POST /webhooks/purchase` on `app`."""

    async def handle(request: web.Request) -> web.Response:
        return await _handle(webhook, request)

    app.router.add_post(PATH, handle)


async def _handle(webhook: PurchaseWebhook, request: web.Request) -> web.Response:
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _refuse(413, f"the body is larger than {MAX_BODY} bytes")
    body = await request.read()
    stamp = request.headers.get(TIMESTAMP_HEADER, "")
    given = request.headers.get(SIGNATURE_HEADER, "")
    if not stamp or not given:
        return _refuse(401, f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    if not stamp.isdigit():
        return _refuse(401, f"{TIMESTAMP_HEADER} is not a Unix time in seconds")
    age = abs(webhook.clock.now().timestamp() - int(stamp))
    if age > webhook.config.purchase_webhook.max_age.total_seconds():
        return _refuse(401, "stale timestamp: sign each request with the current time")
    if not hmac.compare_digest(signature(webhook.secret, stamp, body), given):
        return _refuse(401, "bad signature")
    try:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise _BadPayload("the body must be a JSON object")
        return await _record(webhook, data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _refuse(400, "the body is not JSON")
    except _BadPayload as exc:
        return _refuse(400, str(exc))


async def _record(webhook: PurchaseWebhook, data: dict[str, Any]) -> web.Response:
    order_id = _field(data, "order_id", str)
    course_id = _field(data, "course", str)
    amount = float(_field(data, "amount", (int, float)))
    currency = _field(data, "currency", str)
    order_total = _field(data, "order_total", (int, float), required=False)
    paid_at_text = _field(data, "paid_at", str, required=False)
    code = _field(data, "coupon", str, required=False) or ""
    ref = _field(data, "ref", str, required=False) or ""
    external_id = _field(data, "external_id", str, required=False) or ""
    if not order_id or len(order_id) > 200:
        raise _BadPayload("order_id must be 1 to 200 characters")
    if course_id not in webhook.config.courses:
        return _refuse(404, f"no course {course_id!r}")
    if amount < 0:
        raise _BadPayload("amount must not be negative")
    now = webhook.clock.now()
    paid_at = now
    if paid_at_text:
        try:
            paid_at = datetime.fromisoformat(paid_at_text)
        except ValueError:
            raise _BadPayload("paid_at is not an ISO 8601 time") from None
        if paid_at.tzinfo is None:
            raise _BadPayload("paid_at needs a time zone (e.g. 2026-11-05T10:00:00Z)")
        paid_at = min(paid_at, now + timedelta(minutes=5))
    if await webhook.orders.exists(course_id, order_id):
        return web.json_response({"status": "duplicate", "order_id": order_id})

    learner_id = await _identify(webhook, course_id, code, ref, external_id)
    if learner_id is None:
        return _refuse(
            422, "cannot tell the learner: send their coupon, the ref of their link or a linked external_id"
        )
    purchase = Purchase(order_id, course_id, learner_id, amount, currency, paid_at, coupon_code=code)
    try:
        await webhook.purchases.record(
            purchase, order_total=float(order_total) if order_total is not None else None
        )
    except DomainError as exc:
        return _refuse(409, str(exc))
    if external_id:
        await webhook.external_ids.link_external(course_id, external_id, learner_id)
    source = await webhook.orders.attribution(course_id, order_id)
    attributed = (
        dict(zip(("campaign", "step", "variant"), source.split("|"), strict=True)) if source else None
    )
    log.info("order %s of course %s recorded for learner %s", order_id, course_id, learner_id)
    return web.json_response(
        {"status": "recorded", "order_id": order_id, "learner": learner_id, "attributed_to": attributed}
    )


async def _identify(
    webhook: PurchaseWebhook, course_id: str, code: str, ref: str, external_id: str
) -> str | None:
    """The learner by coupon, else by signed ref, else by a linked external id."""
    if code:
        coupon = await webhook.coupons.get(code)
        if coupon is not None and coupon.course_id == course_id:
            return coupon.learner_id
        raise _BadPayload(f"coupon {code} is not a coupon of course {course_id}")
    if ref:
        found = read_ref(webhook.ref_secret, ref) if webhook.ref_secret else None
        if found is None or found[0] != course_id:
            raise _BadPayload("ref is not a genuine ClassPulse ref for this course")
        return found[1]
    if external_id:
        return await webhook.external_ids.find_external(course_id, external_id)
    return None
