"""Fake Yandex Market Partner API, sales-boost bids and what they need (seed 002).

Served under `/ym`, with and without the `/v2` prefix (docs/external-apis.md "Yandex Market bids"):

- `POST /v2/businesses/{businessId}/bids/info` — the API campaign's bids (pageToken/limit ≤500, or `skus`)
- `PUT /v2/businesses/{businessId}/bids` — ≤1500 `{sku, bid}`; bid 50..9999 (% of price × 100), 0 removes
- `POST /v2/businesses/{businessId}/bids/recommendations`
- `POST /v2/businesses/{businessId}/offer-prices` — current prices by `offerIds`
- `POST /v2/campaigns/{campaignId}/stats/orders` — orders with the boost `bidFee` (≤200 a page)

Auth: `Api-Key` header; a business or campaign of another account → 403. Limits: at most 4 parallel requests
per business (→ 420 "Hit rate limit of 4 parallel requests"), and per-method resource limits (500 a minute
for the bid methods, 10 000 an hour for stats/orders) → 420; every reply carries `X-RateLimit-Resource-*`.
Envelope `{status: "OK", result}` / `{status: "ERROR", errors: [{code, message}]}`.
Counters: `bids_set` per `brand:business:sku`, `bid_requests`, `units_removed` / `units_added`.
Controls: `POST /ym/_sandbox/scale`, `POST /ym/_sandbox/latency {"seconds"}` (slow requests that count as in
progress, to see the 4-parallel limit).
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

from aiohttp import web

from adolfd.sandbox import ads, yandex_market
from adolfd.sandbox.accounts import ACCOUNTS
from adolfd.sandbox.core import Caller, RateLimit, Sandbox, endpoint
from adolfd.sandbox.yandex_market import API, YmError, ym_error_body

BOOK = "ym-bids"                 # the sandbox state key of the ad book (the `ym` state is shared)
MAX_PARALLEL = 4
DEFAULT_LIMITS = {
    "bids": (500 / 60, 500.0),
    "bids_info": (500 / 60, 500.0),
    "bids_recommendations": (500 / 60, 500.0),
    "orders_stats": (10_000 / 3600, 10_000.0),
    "offer_prices": (5000 / 60, 5000.0),
}


def _ok(result: Any = None) -> dict[str, Any]:
    return {"status": "OK", "result": result} if result is not None else {"status": "OK"}


Impl = Callable[[Sandbox, str, web.Request], Awaitable[dict[str, Any]]]


def parallel_limit(sandbox: Sandbox, endpoint_class: str, scope: str) -> RateLimit:
    """At most 4 requests in progress per business or campaign, then the method's resource limit."""
    resources = yandex_market.resource_limit(sandbox, endpoint_class)

    @asynccontextmanager
    async def limited(caller: Caller, request: web.Request) -> AsyncIterator[dict[str, str]]:
        in_flight = sandbox.state(BOOK).setdefault("in_flight", {})
        if in_flight.get(caller.account, 0) >= MAX_PARALLEL:
            sandbox.count("rate_limited", f"{API}:parallel")
            raise YmError(420, f"Hit rate limit of {MAX_PARALLEL} parallel requests for {scope}Id {caller.account}",
                          headers=yandex_market.resource_headers(sandbox, caller, endpoint_class))
        async with resources(caller, request) as headers:
            in_flight[caller.account] = in_flight.get(caller.account, 0) + 1
            try:
                yield headers
            finally:
                in_flight[caller.account] -= 1

    return limited


def _method(sandbox: Sandbox, endpoint_class: str, impl: Impl, scope: str) -> Any:
    async def handle(request: web.Request, caller: Caller) -> web.Response:
        latency = sandbox.state(BOOK).get("latency", 0.0)
        if latency:
            await asyncio.sleep(latency)          # the request stays "in progress" meanwhile
        assert caller.brand is not None
        return web.json_response(await impl(sandbox, caller.brand, request))

    return endpoint(sandbox, API, handle, auth=yandex_market.api_key_auth(scope),
                    limit=parallel_limit(sandbox, endpoint_class, scope))


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise YmError(400, "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise YmError(400, "request body must be an object")
    return body


def _book(sandbox: Sandbox) -> ads.AdBook:
    return ads.book(sandbox, BOOK)


def _campaign(sandbox: Sandbox, brand: str) -> ads.AdCampaign:
    return ads.campaigns(sandbox.seed, "ym", brand, _book(sandbox).scale)[0]


def _limit(request: web.Request, default: int, maximum: int) -> int:
    try:
        value = int(request.query.get("limit", default))
    except ValueError:
        raise YmError(400, "limit must be an integer") from None
    if not 1 <= value <= maximum:
        raise YmError(400, f"limit must be 1..{maximum}")
    return value


def _offset(request: web.Request) -> int:
    token = request.query.get("pageToken") or request.query.get("page_token") or "0"
    if not token.isdigit():
        raise YmError(400, "invalid pageToken")
    return int(token)


async def bids_info(sandbox: Sandbox, brand: str, request: web.Request) -> dict[str, Any]:
    body = await _body(request)
    campaign, book = _campaign(sandbox, brand), _book(sandbox)
    units = book.active_units(brand, campaign)
    skus = body.get("skus")
    if skus:
        if not isinstance(skus, list) or len(skus) > 500:
            raise YmError(400, "skus: 1..500 values")
        wanted = set(map(str, skus))
        return _ok({"bids": [{"sku": u.unit_id, "bid": book.bid(brand, campaign, u)} for u in units
                             if u.unit_id in wanted]})
    limit, start = _limit(request, 250, 500), _offset(request)
    page = units[start:start + limit]
    paging = {"nextPageToken": str(start + limit)} if start + limit < len(units) else {}
    return _ok({"bids": [{"sku": u.unit_id, "bid": book.bid(brand, campaign, u)} for u in page], "paging": paging})


async def put_bids(sandbox: Sandbox, brand: str, request: web.Request) -> dict[str, Any]:
    body = await _body(request)
    items = body.get("bids")
    if not isinstance(items, list) or not 1 <= len(items) <= 1500:
        raise YmError(400, "bids: 1..1500 items")
    campaign, book = _campaign(sandbox, brand), _book(sandbox)
    units = {u.unit_id: u for u in campaign.units}
    planned = []
    for item in items:
        sku, bid = str(item.get("sku", "")), item.get("bid")
        if not isinstance(bid, int) or isinstance(bid, bool) or not (bid == 0 or 50 <= bid <= 9999):
            raise YmError(400, f"bid of sku {sku} must be 0 or 50..9999")
        if sku in units:                       # unknown SKUs are ignored (spec)
            planned.append((units[sku], bid))
    business = ACCOUNTS[brand].ym.business_id
    for unit, bid in planned:
        key = (brand, campaign.campaign_id, unit.unit_id)
        if bid == 0:
            if key not in book.removed:
                book.removed.add(key)
                sandbox.count("units_removed", f"ym:{brand}:{business}:{unit.unit_id}")
            continue
        if key in book.removed:
            book.removed.discard(key)
            sandbox.count("units_added", f"ym:{brand}:{business}:{unit.unit_id}")
        book.bids[key] = bid
        sandbox.count("bids_set", f"ym:{brand}:{business}:{unit.unit_id}")
    sandbox.count("bid_requests", f"ym:{brand}")
    return _ok()


async def recommendations(sandbox: Sandbox, brand: str, request: web.Request) -> dict[str, Any]:
    body = await _body(request)
    wanted = set(map(str, body.get("skus") or []))
    campaign = _campaign(sandbox, brand)
    found = []
    for u in campaign.units:
        if u.unit_id in wanted:
            levels = [{"bid": min(9999, u.base_bid * k // 4), "showPercent": min(100, 25 * k)} for k in (2, 4, 6)]
            found.append({"sku": u.unit_id, "bid": levels[1]["bid"], "bidRecommendations": levels})
    return _ok({"recommendations": found})


async def offer_prices(sandbox: Sandbox, brand: str, request: web.Request) -> dict[str, Any]:
    body = await _body(request)
    ids = body.get("offerIds")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 500:
        raise YmError(400, "offerIds: 1..500 values")
    wanted = set(map(str, ids))
    campaign = _campaign(sandbox, brand)
    return _ok({"offers": [{"offerId": u.unit_id, "price": {"value": float(u.price), "currencyId": "RUR"},
                            "updatedAt": "2026-01-01T00:00:00+03:00"} for u in campaign.units if u.unit_id in wanted]})


async def orders_stats(sandbox: Sandbox, brand: str, request: web.Request) -> dict[str, Any]:
    body = await _body(request)
    try:
        first = date.fromisoformat(str(body.get("dateFrom", "")))
        last = date.fromisoformat(str(body.get("dateTo", "")))
    except ValueError:
        raise YmError(400, "dateFrom and dateTo are required (YYYY-MM-DD)") from None
    limit, start = _limit(request, 100, 200), _offset(request)
    orders = await _orders_listing(sandbox, brand, first, last, fresh=start == 0)
    page = orders[start:start + limit]
    paging = {"nextPageToken": str(start + limit)} if start + limit < len(orders) else {}
    if not paging:          # the read is over: a large listing held on would slow every garbage collection
        sandbox.state(BOOK).get("orders_listings", {}).pop((brand, first, last), None)
    return _ok({"orders": page, "paging": paging})


async def _orders_listing(sandbox: Sandbox, brand: str, first: date, last: date, *,
                         fresh: bool) -> list[dict[str, Any]]:
    """The orders of one listing, built on its first page and kept for its next ones: the pages of one read
    agree with each other, and a large shop's listing costs one pass, not one per page. Building a large one
    lets other requests in between (`ads.let_others_in`), as a marketplace serves them meanwhile."""
    listings = sandbox.state(BOOK).setdefault("orders_listings", {})
    key = (brand, first, last)
    if not fresh and key in listings:
        return listings[key]
    campaign = _campaign(sandbox, brand)
    now = sandbox.now()
    orders = []
    for day in ads.days(first, min(last, sandbox.today())):
        fraction = ads.day_fraction(now, day)
        for n, u in enumerate(campaign.units):
            await ads.let_others_in(n)
            f = ads.figures(sandbox.seed, campaign, u, day, fraction)
            for k in range(f.orders):
                orders.append({
                    "id": int(day.strftime("%Y%m%d")) * 100_000 + n * 100 + k, "creationDate": day.isoformat(),
                    "status": "DELIVERED", "items": [{
                        "offerName": u.title, "shopSku": u.unit_id, "count": 1,
                        "prices": [{"type": "BUYER", "costPerItem": float(u.price), "total": float(u.price)}],
                        "bidFee": u.base_bid}]})
    listings[key] = orders
    return orders


def _latency_control(sandbox: Sandbox) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def latency(request: web.Request) -> web.Response:
        """`POST /ym/_sandbox/latency {"seconds": 0.5}`: every bid/stats request takes that long (0 = off)."""
        body = await request.json()
        seconds = body.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 60:
            return web.json_response({"error": "seconds must be a number in 0..60"}, status=400)
        sandbox.state(BOOK)["latency"] = float(seconds)
        return web.json_response({"seconds": float(seconds)})
    return latency


def _scale_control(sandbox: Sandbox) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def scale(request: web.Request) -> web.Response:
        """`POST /ym/_sandbox/scale {"campaigns": 20, "units": 500}`: benchmark sizes until reset."""
        body = await request.json()
        set_scale(sandbox, ads.Scale(int(body.get("campaigns", 3)), int(body.get("units", 12))))
        return web.json_response({"campaigns": body.get("campaigns", 3), "units": body.get("units", 12)})
    return scale


def install(sandbox: Sandbox) -> None:
    app = sandbox.subapp(API, error_body=ym_error_body, auth=yandex_market.api_key_auth("business"))
    app.router.add_post("/_sandbox/scale", _scale_control(sandbox))
    app.router.add_post("/_sandbox/latency", _latency_control(sandbox))
    for cls, (rate, burst) in DEFAULT_LIMITS.items():
        sandbox.define_limit(API, cls, rate, burst)
    for prefix in ("/v2", ""):
        business = prefix + "/businesses/{owner_id}"
        app.router.add_post(business + "/bids/info", _method(sandbox, "bids_info", bids_info, "business"))
        app.router.add_put(business + "/bids", _method(sandbox, "bids", put_bids, "business"))
        app.router.add_post(business + "/bids/recommendations",
                            _method(sandbox, "bids_recommendations", recommendations, "business"))
        app.router.add_post(business + "/offer-prices", _method(sandbox, "offer_prices", offer_prices, "business"))
        app.router.add_post(prefix + "/campaigns/{owner_id}/stats/orders",
                            _method(sandbox, "orders_stats", orders_stats, "campaign"))


def set_scale(sandbox: Sandbox, scale: ads.Scale) -> None:
    ads.set_scale(sandbox, BOOK, scale, "ym")


__all__ = ["API", "install", "set_scale"]
