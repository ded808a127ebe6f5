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
from datetime import date, timedelta
from typing import Any, Awaitable, Callable

from aiohttp import web

from adolfd.sandbox import ads
from adolfd.sandbox.accounts import ACCOUNTS, brand_of_ozon_performance
from adolfd.sandbox.core import Sandbox, retry_after_header

SANDBOX = web.AppKey("sandbox_core", Sandbox)
API = "ozon-performance"
TOKEN_TTL = 1800
DAILY_QUOTA = 100_000
DEFAULT_LIMITS = {"default": (5.0, 5.0)}
RUNNING, INACTIVE = "CAMPAIGN_STATE_RUNNING", "CAMPAIGN_STATE_INACTIVE"
MICROS_PER_KOPECK = 10_000


class OzonPerfError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def _state(sandbox: Sandbox) -> dict[str, Any]:
    state = sandbox.state(API)
    state.setdefault("tokens", {})          # token → (brand, expires epoch on the sandbox clock)
    state.setdefault("quota", {})           # (brand, Moscow day) → requests
    return state


async def token(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, "invalid request body")
    client_id = str(body.get("client_id", "")) if isinstance(body, dict) else ""
    brand = brand_of_ozon_performance(client_id)
    if (brand is None or body.get("grant_type") != "client_credentials"
            or ACCOUNTS[brand].ozon_performance.client_secret != body.get("client_secret")):
        sandbox.count("auth_failed", API)
        return _error(401, "invalid client credentials")
    request["sandbox_account"] = brand
    value = secrets.token_urlsafe(24)
    _state(sandbox)["tokens"][value] = (brand, sandbox.now().timestamp() + TOKEN_TTL)
    sandbox.count("tokens_issued", brand)
    return web.json_response({"access_token": value, "expires_in": TOKEN_TTL, "token_type": "Bearer"})


Impl = Callable[[Sandbox, str, web.Request], Awaitable[web.Response]]


def _endpoint(sandbox: Sandbox, impl: Impl, endpoint_class: str | None = "default",
              ) -> Callable[[web.Request], Awaitable[web.Response]]:
    """`endpoint_class=None`: a method that "does not spend Performance API limits" (products/sku stats)."""
    async def handle(request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        value = header[7:].strip() if header.lower().startswith("bearer ") else ""
        entry = _state(sandbox)["tokens"].get(value)
        if entry is None or entry[1] <= sandbox.now().timestamp():
            sandbox.count("auth_failed", API)
            return _error(401, "token is missing, invalid or expired")
        brand = entry[0]
        request["sandbox_account"] = brand
        if endpoint_class is not None:
            quota = _state(sandbox)["quota"]
            day_key = (brand, sandbox.today().isoformat())
            if quota.get(day_key, 0) >= DAILY_QUOTA:
                sandbox.count("rate_limited", f"{API}:daily")
                return _error(429, "daily request limit exceeded", headers={"Retry-After": "3600"})
            wait = sandbox.gate(API, brand, endpoint_class)
            if wait is not None:
                return _error(429, "too many requests", headers={"Retry-After": retry_after_header(wait)})
            quota[day_key] = quota.get(day_key, 0) + 1
        try:
            return await impl(sandbox, brand, request)
        except OzonPerfError as exc:
            return _error(exc.status, exc.message)

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
            for u in book.active_units(brand, c):
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
    ads.set_scale(sandbox, API, ads.Scale(int(body.get("campaigns", 3)), int(body.get("units", 12))))
    return web.json_response({"campaigns": body.get("campaigns", 3), "units": body.get("units", 12)})


def install(sandbox: Sandbox) -> None:
    app = sandbox.subapp(API, error_body=lambda status, message: {"error": message})
    app[SANDBOX] = sandbox
    for cls, (rate, burst) in DEFAULT_LIMITS.items():
        sandbox.define_limit(API, cls, rate, burst)
    base = "/api/client/campaign/{campaign_id}"
    app.router.add_post("/api/client/token", token)
    app.router.add_get("/api/client/campaign", _endpoint(sandbox, campaign_list))
    app.router.add_post(base + "/activate", _endpoint(sandbox, _switch("activate")))
    app.router.add_post(base + "/deactivate", _endpoint(sandbox, _switch("deactivate")))
    app.router.add_get(base + "/v2/products", _endpoint(sandbox, products))
    app.router.add_put(base + "/products", _endpoint(sandbox, update_bids))
    app.router.add_post(base + "/products", _endpoint(sandbox, add_products))
    app.router.add_post(base + "/products/delete", _endpoint(sandbox, delete_products))
    app.router.add_get(base + "/products/bids/competitive", _endpoint(sandbox, competitive))
    app.router.add_post("/api/client/min/sku", _endpoint(sandbox, min_sku))
    app.router.add_post("/api/client/statistics/products/sku", _endpoint(sandbox, sku_stats, None))
    app.router.add_get("/api/client/limits/list", _endpoint(sandbox, limits_list))
    app.router.add_post("/_sandbox/scale", scale_control)
