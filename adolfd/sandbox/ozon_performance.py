"""Fake Ozon Performance API (`https://api-performance.ozon.ru`), the marketing subset (seed 002).

Served under `/ozon-performance` (docs/external-apis.md "Ozon Performance API"):

- `POST /api/client/token` — client credentials → bearer token valid 1800 s (401 `{error}` when wrong)
- `GET /api/client/campaign` — campaigns (`CAMPAIGN_STATE_RUNNING` / `CAMPAIGN_STATE_INACTIVE`)
- `POST /api/client/campaign/{id}/activate|deactivate`
- `GET /api/client/campaign/{id}/v2/products` — SKUs with CPC bids (millionths of a rouble, as text), paged
- `PUT /api/client/campaign/{id}/products` — update bids; `POST …/products` add; `POST …/products/delete`
- `GET /api/client/campaign/{id}/products/bids/competitive`, `POST /api/client/min/sku`
- `POST /api/client/statistics/products/sku` — per campaign, SKU and day (money in roubles as text, "185,59")
- `GET /api/client/limits/list`

Limits: 100 000 requests a day per account (the documented quota) and, as an assumption the spec does not
state, 5 requests a second (burst 5); over either → 429 `{error}` with `Retry-After`. Tokens expire on the
sandbox clock. Counters: `tokens_issued`, `bids_set` per `brand:campaign:sku`, `bid_requests`,
`campaign_paused` / `campaign_started`, `units_removed` / `units_added`.
"""
from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from functools import partial
from typing import Any

from aiohttp import web

from adolfd.sandbox import ads
from adolfd.sandbox.accounts import ACCOUNTS, brand_of_ozon_performance
from adolfd.sandbox.core import (
    ApiError,
    Auth,
    Caller,
    Handler,
    RateLimit,
    Sandbox,
    bearer_token,
    endpoint,
    retry_after_header,
    token_gate,
)

SANDBOX = web.AppKey("sandbox_core", Sandbox)
API = "ozon-performance"
TOKEN_TTL = 1800
DAILY_QUOTA = 100_000
DEFAULT_LIMITS = {"default": (5.0, 5.0)}
RUNNING, INACTIVE = "CAMPAIGN_STATE_RUNNING", "CAMPAIGN_STATE_INACTIVE"
MICROS_PER_KOPECK = 10_000


class OzonPerfError(ApiError):
    """A Performance API refusal: `{error}` (the API's error body)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, message, headers=headers)


def _state(sandbox: Sandbox) -> dict[str, Any]:
    state = sandbox.state(API)
    state.setdefault("tokens", {})          # token → (brand, expires epoch on the sandbox clock)
    state.setdefault("quota", {})           # (brand, Moscow day) → requests
    return state


def client_credentials(sandbox: Sandbox) -> Auth:
    """`POST /api/client/token`: the client_credentials grant in the JSON body."""
    async def authenticate(request: web.Request) -> Caller:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise OzonPerfError(400, "invalid request body") from None
        client_id = str(body.get("client_id", "")) if isinstance(body, dict) else ""
        brand = brand_of_ozon_performance(client_id)
        if (brand is None or body.get("grant_type") != "client_credentials"
                or ACCOUNTS[brand].ozon_performance.client_secret != body.get("client_secret")):
            raise OzonPerfError(401, "invalid client credentials")
        return Caller(account=brand, brand=brand)
    return authenticate


def bearer(sandbox: Sandbox) -> Auth:
    """Every other method: a token issued by `/api/client/token`, valid on the sandbox clock."""
    async def authenticate(request: web.Request) -> Caller:
        entry = _state(sandbox)["tokens"].get(bearer_token(request))
        if entry is None or entry[1] <= sandbox.now().timestamp():
            raise OzonPerfError(401, "token is missing, invalid or expired")
        return Caller(account=entry[0], brand=entry[0])
    return authenticate


async def token(sandbox: Sandbox, request: web.Request, caller: Caller) -> web.Response:
    value = secrets.token_urlsafe(24)
    _state(sandbox)["tokens"][value] = (caller.account, sandbox.now().timestamp() + TOKEN_TTL)
    sandbox.count("tokens_issued", caller.account)
    return web.json_response({"access_token": value, "expires_in": TOKEN_TTL, "token_type": "Bearer"})


def rate_limit(sandbox: Sandbox) -> RateLimit:
    """The daily quota per account, then 5 requests a second (burst 5)."""
    gate = token_gate(sandbox, API, "default", refuse=lambda _cls, wait: OzonPerfError(
        429, "too many requests", headers={"Retry-After": retry_after_header(wait)}))

    @asynccontextmanager
    async def limited(caller: Caller, request: web.Request) -> AsyncIterator[dict[str, str]]:
        quota = _state(sandbox)["quota"]
        day_key = (caller.account, sandbox.today().isoformat())
        if quota.get(day_key, 0) >= DAILY_QUOTA:
            sandbox.count("rate_limited", f"{API}:daily")
            raise OzonPerfError(429, "daily request limit exceeded", headers={"Retry-After": "3600"})
        async with gate(caller, request) as headers:
            quota[day_key] = quota.get(day_key, 0) + 1
            yield headers

    return limited


Impl = Callable[[Sandbox, str, web.Request], Awaitable[web.Response]]


def _method(sandbox: Sandbox, impl: Impl) -> Handler:
    async def handle(request: web.Request, caller: Caller) -> web.Response:
        assert caller.brand is not None
        return await impl(sandbox, caller.brand, request)
    return handle


def _campaign(sandbox: Sandbox, brand: str, request: web.Request) -> ads.AdCampaign:
    try:
        campaign_id = int(request.match_info["campaign_id"])
    except ValueError:
        raise OzonPerfError(400, "campaignId must be uint64") from None
    campaign = ads.find(sandbox.seed, "ozon", brand, campaign_id, ads.book(sandbox, API).scale)
    if campaign is None:
        raise OzonPerfError(404, f"campaign {campaign_id} not found")
    return campaign


def _campaign_json(sandbox: Sandbox, brand: str, c: ads.AdCampaign) -> dict[str, Any]:
    state = INACTIVE if (brand, c.campaign_id) in ads.book(sandbox, API).paused else RUNNING
    return {"id": str(c.campaign_id), "title": c.name, "state": state, "advObjectType": "SKU",
            "paymentType": "CPC", "fromDate": "2025-12-01", "toDate": "", "budget": "0",
            "dailyBudget": "0", "weeklyBudget": "0", "placement": ["PLACEMENT_SEARCH_AND_CATEGORY"],
            "productAutopilotStrategy": "NO_AUTO_STRATEGY", "productCampaignMode": "PRODUCT_CAMPAIGN_MODE_MANUAL",
            "createdAt": "2025-12-01T07:00:00Z", "updatedAt": sandbox.now().isoformat()}


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise OzonPerfError(400, "invalid request body") from None
    if not isinstance(body, dict):
        raise OzonPerfError(400, "request body must be an object")
    return body


async def campaign_list(sandbox: Sandbox, brand: str, request: web.Request) -> web.Response:
    kind = request.query.get("advObjectType")
    ids = set(request.query.getall("campaignIds", []))
    wanted_state = request.query.get("state")
    found = []
    for c in ads.campaigns(sandbox.seed, "ozon", brand, ads.book(sandbox, API).scale):
        item = _campaign_json(sandbox, brand, c)
        if (kind and kind != "SKU") or (ids and item["id"] not in ids) or \
                (wanted_state and wanted_state != "CAMPAIGN_STATE_UNKNOWN" and item["state"] != wanted_state):
            continue
        found.append(item)
    return web.json_response({"list": found})


def _switch(action: str) -> Impl:
    async def switch(sandbox: Sandbox, brand: str, request: web.Request) -> web.Response:
        campaign = _campaign(sandbox, brand, request)
        book = ads.book(sandbox, API)
        key = (brand, campaign.campaign_id)
        if action == "deactivate" and key not in book.paused:
            book.paused.add(key)
            sandbox.count("campaign_paused", f"ozon:{brand}:{campaign.campaign_id}")
        elif action == "activate" and key in book.paused:
            book.paused.discard(key)
            sandbox.count("campaign_started", f"ozon:{brand}:{campaign.campaign_id}")
        return web.json_response(_campaign_json(sandbox, brand, campaign))
    return switch


async def products(sandbox: Sandbox, brand: str, request: web.Request) -> web.Response:
    campaign = _campaign(sandbox, brand, request)
    try:
        page = int(request.query.get("page", "1"))
        size = int(request.query.get("pageSize", "100"))
    except ValueError:
        raise OzonPerfError(400, "page and pageSize must be integers") from None
    if page < 1 or not 1 <= size <= 1000:
        raise OzonPerfError(400, "page ≥ 1, pageSize 1..1000")
    book = ads.book(sandbox, API)
    units = book.active_units(brand, campaign)[(page - 1) * size: page * size]
    return web.json_response({"products": [
        {"sku": u.unit_id, "bid": str(book.bid(brand, campaign, u) * MICROS_PER_KOPECK), "title": u.title}
        for u in units]})


def _bids(body: dict[str, Any], campaign: ads.AdCampaign) -> list[tuple[ads.AdUnit, int]]:
    items = body.get("bids")
    if not isinstance(items, list) or not items:
        raise OzonPerfError(400, "bids: required non-empty array")
    units = {u.unit_id: u for u in campaign.units}
    planned = []
    for item in items:
        sku, bid = str(item.get("sku", "")), item.get("bid")
        unit = units.get(sku)
        if unit is None:
            raise OzonPerfError(400, f"sku {sku} is not in campaign {campaign.campaign_id}")
        if not isinstance(bid, str) or not bid.isdigit():
            raise OzonPerfError(400, f"bid of sku {sku} must be uint64 as a string")
        micros = int(bid)
        if micros % MICROS_PER_KOPECK:
            raise OzonPerfError(400, f"bid of sku {sku} is not a whole number of kopecks")
        if micros < unit.min_bid * MICROS_PER_KOPECK:
            raise OzonPerfError(400, f"bid of sku {sku} is below the minimum {unit.min_bid / 100:.2f} RUB")
        planned.append((unit, micros // MICROS_PER_KOPECK))
    return planned


async def update_bids(sandbox: Sandbox, brand: str, request: web.Request) -> web.Response:
    campaign = _campaign(sandbox, brand, request)
    book = ads.book(sandbox, API)
    planned = _bids(await _body(request), campaign)
    for unit, _ in planned:
        if (brand, campaign.campaign_id, unit.unit_id) in book.removed:
            raise OzonPerfError(400, f"sku {unit.unit_id} is not in campaign {campaign.campaign_id}")
    for unit, kopecks in planned:
        book.bids[(brand, campaign.campaign_id, unit.unit_id)] = kopecks
        sandbox.count("bids_set", f"ozon:{brand}:{campaign.campaign_id}:{unit.unit_id}")
    sandbox.count("bid_requests", f"ozon:{brand}")
    return web.json_response({})


async def add_products(sandbox: Sandbox, brand: str, request: web.Request) -> web.Response:
    campaign = _campaign(sandbox, brand, request)
    book = ads.book(sandbox, API)
    for unit, kopecks in _bids(await _body(request), campaign):
        key = (brand, campaign.campaign_id, unit.unit_id)
        if key in book.removed:
            book.removed.discard(key)
            sandbox.count("units_added", f"ozon:{brand}:{campaign.campaign_id}:{unit.unit_id}")
        book.bids[key] = kopecks
    return web.json_response({})


async def delete_products(sandbox: Sandbox, brand: str, request: web.Request) -> web.Response:
    campaign = _campaign(sandbox, brand, request)
    body = await _body(request)
    skus = body.get("sku")
    if not isinstance(skus, list) or not skus:
        raise OzonPerfError(400, "sku: required non-empty array")
    book = ads.book(sandbox, API)
    known = {u.unit_id for u in campaign.units}
    for sku in map(str, skus):
        key = (brand, campaign.campaign_id, sku)
        if sku in known and key not in book.removed:
            book.removed.add(key)
            sandbox.count("units_removed", f"ozon:{brand}:{campaign.campaign_id}:{sku}")
    return web.json_response({})


async def competitive(sandbox: Sandbox, brand: str, request: web.Request) -> web.Response:
    campaign = _campaign(sandbox, brand, request)
    wanted = set(request.query.getall("skus", []))
    found = []
    for u in campaign.units:
        if u.unit_id in wanted:
            rival = u.base_bid + u.base_bid // 10 if u.profile != "good" else u.base_bid // 2
            found.append({"sku": u.unit_id, "bid": str(max(rival, u.min_bid) * MICROS_PER_KOPECK)})
    return web.json_response({"campaignId": str(campaign.campaign_id), "bids": found})


async def min_sku(sandbox: Sandbox, brand: str, request: web.Request) -> web.Response:
    body = await _body(request)
    wanted = {str(s) for s in body.get("sku") or []}
    found = []
    for c in ads.campaigns(sandbox.seed, "ozon", brand, ads.book(sandbox, API).scale):
        for u in c.units:
            if u.unit_id in wanted:
                found.append({"sku": u.unit_id, "bid": u.min_bid / 100})
                wanted.discard(u.unit_id)
    return web.json_response({"minBids": found})


def _money(kopecks: int) -> str:
    return f"{kopecks // 100},{kopecks % 100:02d}"


async def sku_stats(sandbox: Sandbox, brand: str, request: web.Request) -> web.Response:
    body = await _body(request)
    try:
        first = date.fromisoformat(str(body.get("dateFrom", "")))
        last = date.fromisoformat(str(body.get("dateTo", "")))
    except ValueError:
        raise OzonPerfError(400, "dateFrom and dateTo are required (YYYY-MM-DD)") from None
    today = sandbox.today()
    if first < today - timedelta(days=1) or last < first:
        raise OzonPerfError(400, "dateFrom must not be earlier than the previous day")
    wanted = {str(c) for c in body.get("campaignIds") or []}
    book = ads.book(sandbox, API)
    now = sandbox.now()
    rows = []
    for c in ads.campaigns(sandbox.seed, "ozon", brand, book.scale):
        if wanted and str(c.campaign_id) not in wanted:
            continue
        for day in ads.days(first, min(last, today)):
            fraction = ads.day_fraction(now, day)
            for n, u in enumerate(book.active_units(brand, c)):
                await ads.let_others_in(n)
                f = ads.figures(sandbox.seed, c, u, day, fraction)
                rows.append({"campaignId": str(c.campaign_id), "sku": u.unit_id, "date": day.isoformat(),
                             "views": str(f.views), "clicks": str(f.clicks), "expense": _money(f.spent),
                             "orders": str(f.orders), "sales": _money(f.revenue),
                             "ctr": round(f.clicks * 100 / f.views, 2) if f.views else 0,
                             "avgCpc": _money(f.spent // f.clicks) if f.clicks else "0,00",
                             "drr": round(f.spent * 100 / f.revenue, 2) if f.revenue else 0,
                             "price": _money(u.price * 100), "toCart": str(f.orders * 2)})
    return web.json_response({"rows": rows})


async def limits_list(sandbox: Sandbox, brand: str, request: web.Request) -> web.Response:
    return web.json_response({"limits": [{"objectType": "SKU", "paymentMethod": "CPC", "minBid": "3000000",
                                          "maxBid": "5000000000"}]})


async def scale_control(request: web.Request) -> web.Response:
    """`POST /ozon-performance/_sandbox/scale {"campaigns": 20, "units": 500}`."""
    sandbox = request.app[SANDBOX]
    body = await request.json()
    ads.set_scale(sandbox, API, ads.Scale(int(body.get("campaigns", 3)), int(body.get("units", 12))), "ozon")
    return web.json_response({"campaigns": body.get("campaigns", 3), "units": body.get("units", 12)})


def install(sandbox: Sandbox) -> None:
    app = sandbox.subapp(API, error_body=lambda status, message: {"error": message}, auth=bearer(sandbox))
    app[SANDBOX] = sandbox
    for cls, (rate, burst) in DEFAULT_LIMITS.items():
        sandbox.define_limit(API, cls, rate, burst)
    limited = rate_limit(sandbox)

    def method(impl: Impl, limit: RateLimit | None = limited) -> Any:
        """`limit=None`: a method that "does not spend Performance API limits" (products/sku stats)."""
        return endpoint(sandbox, API, _method(sandbox, impl), limit=limit)

    base = "/api/client/campaign/{campaign_id}"
    app.router.add_post("/api/client/token", endpoint(sandbox, API, partial(token, sandbox),
                                                      auth=client_credentials(sandbox)))
    app.router.add_get("/api/client/campaign", method(campaign_list))
    app.router.add_post(base + "/activate", method(_switch("activate")))
    app.router.add_post(base + "/deactivate", method(_switch("deactivate")))
    app.router.add_get(base + "/v2/products", method(products))
    app.router.add_put(base + "/products", method(update_bids))
    app.router.add_post(base + "/products", method(add_products))
    app.router.add_post(base + "/products/delete", method(delete_products))
    app.router.add_get(base + "/products/bids/competitive", method(competitive))
    app.router.add_post("/api/client/min/sku", method(min_sku))
    app.router.add_post("/api/client/statistics/products/sku", method(sku_stats, None))
    app.router.add_get("/api/client/limits/list", method(limits_list))
    app.router.add_post("/_sandbox/scale", scale_control)
