"""The purchase webhook: signed, fresh, idempotent on order_id, finds the learner, redeems, attributes."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from adapters.web.purchase_webhook import PATH, add_purchase_routes, signature
from bot.app import App, purchase_webhook
from bot.clock import ManualClock
from bot.domain import Platform
from campaigns.coupons import issue_coupon
from campaigns.links import make_ref
from tests.core.conftest import enrol

SECRET = "test-webhook-secret"
LINK_SECRET = b"test-link-secret"
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(app: App, aiohttp_client: Callable[[web.Application], Awaitable[Client]]) -> Client:
    app.runner.ref_secret = LINK_SECRET
    web_app = web.Application()
    add_purchase_routes(web_app, purchase_webhook(app, {"CLASSPULSE_PURCHASE_SECRET": SECRET}))
    return await aiohttp_client(web_app)


def signed(body: bytes, at: float, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(at))
    return {
        "X-ClassPulse-Timestamp": stamp,
        "X-ClassPulse-Signature": signature(secret.encode(), stamp, body),
        "Content-Type": "application/json",
    }


async def post(client: Client, clock: ManualClock, payload: dict[str, Any], **kw: Any) -> Any:
    body = json.dumps(payload).encode()
    headers = kw.pop("headers", None) or signed(body, clock.now().timestamp(), **kw)
    response = await client.post(PATH, data=body, headers=headers)
    return response.status, await response.json()


async def learner_with_coupon(app: App, clock: ManualClock, pool: str = "hot-48h") -> tuple[str, str]:
    [learner] = await enrol(app, Platform.TELEGRAM, ["1"])
    coupon = await issue_coupon(
        app.store.coupons,
        pool,
        app.config.coupons[pool],
        "python101",
        app.config.courses["python101"],
        learner,
        "python101-live:hot-offer:c1:" + learner,
        clock.now(),
        source="python101-live|hot-offer|a",
    )
    return learner, coupon.code


def order(**extra: Any) -> dict[str, Any]:
    return {"order_id": "A-1", "course": "python101", "amount": 159.2, "currency": "USD", **extra}


async def test_a_signed_purchase_with_a_coupon_redeems_it_marks_a_buyer_and_is_attributed(
    app: App, clock: ManualClock, client: Client
) -> None:
    learner, code = await learner_with_coupon(app, clock)
    status, answer = await post(client, clock, order(coupon=code, order_total=199.0))
    assert status == 200, answer
    assert answer == {
        "status": "recorded",
        "order_id": "A-1",
        "learner": learner,
        "attributed_to": {"campaign": "python101-live", "step": "hot-offer", "variant": "a"},
    }
    coupon = await app.store.coupons.get(code)
    assert coupon is not None
    assert coupon.status.value == "redeemed"
    assert learner in await app.store.activity.buyers("python101")


async def test_a_bad_signature_is_refused_and_nothing_is_recorded(
    app: App, clock: ManualClock, client: Client
) -> None:
    learner, code = await learner_with_coupon(app, clock)
    status, answer = await post(client, clock, order(coupon=code), secret="not-the-secret")
    assert (status, answer) == (401, {"error": "bad signature"})
    body = json.dumps(order(coupon=code)).encode()
    tampered = signed(json.dumps(order(coupon=code, amount=1)).encode(), clock.now().timestamp())
    status, answer = await post(client, clock, order(coupon=code), headers=tampered)
    assert (status, answer) == (401, {"error": "bad signature"})
    missing = {"Content-Type": "application/json"}
    response = await client.post(PATH, data=body, headers=missing)
    assert response.status == 401
    assert "missing" in (await response.json())["error"]
    assert await app.store.orders.for_course("python101") == []
    assert learner not in await app.store.activity.buyers("python101")
    coupon = await app.store.coupons.get(code)
    assert coupon is not None
    assert coupon.status.value == "issued"


@pytest.mark.parametrize("skew", [timedelta(minutes=-6), timedelta(minutes=6)])
async def test_a_stale_or_future_timestamp_is_refused(
    app: App, clock: ManualClock, client: Client, skew: timedelta
) -> None:
    _, code = await learner_with_coupon(app, clock)
    body = json.dumps(order(coupon=code)).encode()
    headers = signed(body, (clock.now() + skew).timestamp())
    response = await client.post(PATH, data=body, headers=headers)
    assert response.status == 401
    assert (await response.json())["error"].startswith("stale timestamp")
    assert await app.store.orders.for_course("python101") == []


async def test_a_replayed_order_is_recorded_once(app: App, clock: ManualClock, client: Client) -> None:
    _, code = await learner_with_coupon(app, clock)
    first = await post(client, clock, order(coupon=code))
    clock.advance(timedelta(seconds=30))
    again = await post(client, clock, order(coupon=code))
    assert first[0] == 200
    assert again == (200, {"status": "duplicate", "order_id": "A-1"})
    assert len(await app.store.orders.for_course("python101")) == 1
    assert (await app.store.coupons.counts("python101"))["redeemed"] == 1


async def test_a_ref_identifies_the_learner_and_links_the_shops_customer_id(
    app: App, clock: ManualClock, client: Client
) -> None:
    [learner] = await enrol(app, Platform.TELEGRAM, ["7"])
    ref = make_ref(LINK_SECRET, "python101", learner)
    status, answer = await post(client, clock, order(ref=ref, external_id="cus_42"))
    assert (status, answer["learner"]) == (200, learner)
    # A later order of the same customer needs neither coupon nor ref.
    status, answer = await post(client, clock, order(order_id="A-2", external_id="cus_42"))
    assert (status, answer["learner"]) == (200, learner)
    forged = ref[:-1] + ("0" if ref[-1] != "0" else "1")
    status, answer = await post(client, clock, order(order_id="A-3", ref=forged))
    assert (status, answer) == (400, {"error": "ref is not a genuine ClassPulse ref for this course"})


async def test_a_purchase_without_a_way_to_tell_the_learner_is_refused(
    app: App, clock: ManualClock, client: Client
) -> None:
    status, answer = await post(client, clock, order(external_id="cus_unknown"))
    assert status == 422
    assert "cannot tell the learner" in answer["error"]
    assert await app.store.orders.for_course("python101") == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"course": "python101", "amount": 1, "currency": "USD"}, "missing field 'order_id'"),
        (order(amount="159"), "field 'amount' has the wrong type"),
        (order(paid_at="yesterday"), "paid_at is not an ISO 8601 time"),
        ([1, 2], "the body must be a JSON object"),
    ],
)
async def test_a_malformed_payload_gets_a_400_with_the_reason(
    clock: ManualClock, client: Client, payload: Any, reason: str
) -> None:
    assert await post(client, clock, payload) == (400, {"error": reason})


async def test_an_order_below_the_pools_minimum_does_not_redeem_the_coupon(
    app: App, clock: ManualClock, client: Client
) -> None:
    pools = dict(app.config.coupons)
    pools["hot-48h"] = pools["hot-48h"].model_copy(update={"min_order": 150.0})
    app.purchases.config = app.config.model_copy(update={"coupons": pools})
    _, code = await learner_with_coupon(app, clock)
    status, answer = await post(client, clock, order(coupon=code, order_total=120.0))
    assert status == 409
    assert answer["error"].endswith("below the minimum order")
    assert await app.store.orders.for_course("python101") == []
