"""Fake Wildberries promotion API (`https://advert-api.wildberries.ru`), the marketing subset (seed 002).

Served under `/wb-advert` with the paths, JSON shapes, statuses and per-method token buckets of the
current spec (docs/external-apis.md "Wildberries promotion"):

- `GET /adv/v1/promotion/count`, `GET /api/advert/v2/adverts` — campaigns (status 9 active, 11 paused)
- `GET /adv/v3/fullstats` — per day, platform and product; `boosterStats` with the average position
- `PATCH /api/advert/v1/bids` — bids in kopecks, ≤50 campaigns × ≤50 products, each campaign once
- `POST /api/advert/v1/bids/min` — the minimum bid per product
- `GET /adv/v0/pause`, `GET /adv/v0/start` — 422 text/plain when the status does not change
- `PATCH /adv/v0/auction/nms` — remove / add products
- `GET /ping`

Auth: the `Authorization` header carries the token (a `Bearer ` prefix is accepted). Rate limits: 429
`application/problem+json` with `X-Ratelimit-Retry`, `X-Ratelimit-Limit`, `X-Ratelimit-Reset`; other replies
carry `X-Ratelimit-Remaining`. Counters: `bids_set` per `brand:campaign:nm`, `bid_requests`,
`campaign_paused` / `campaign_started` per `brand:campaign`, `units_removed` / `units_added`.
"""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from aiohttp import web

from adolfd.sandbox import ads, wildberries
from adolfd.sandbox.core import ApiError, Caller, Sandbox, endpoint

SANDBOX = web.AppKey("sandbox_core", Sandbox)
API = "wb-advert"

# (rate per second, burst) per method, Personal/Service token rows of the spec
DEFAULT_LIMITS = {
    "count": (5.0, 5.0),
    "adverts": (5.0, 5.0),
    "bids": (5.0, 5.0),
    "pause": (5.0, 5.0),
    "start": (5.0, 5.0),
    "auction_nms": (1.0, 1.0),
    "bids_min": (20 / 60, 5.0),
    "fullstats": (3 / 60, 1.0),
    "ping": (3 / 30, 3.0),
}
ACTIVE, PAUSED = 9, 11


ORIGIN = "camp-api-public-cache"


class WbError(ApiError):
    """A refusal of the promotion API: problem+json, as every error of it is."""

    def __init__(self, status: int, detail: str, title: str = "invalid payload") -> None:
        refusal = wildberries.problem_error(status, title, detail, ORIGIN)
        super().__init__(status, detail, body=refusal.body, content_type=refusal.content_type)


Handler = Callable[[Sandbox, str, web.Request], Awaitable[web.StreamResponse]]


def _method(sandbox: Sandbox, endpoint_class: str, impl: Handler) -> Any:
    async def handle(request: web.Request, caller: Caller) -> web.StreamResponse:
        assert caller.brand is not None
        return await impl(sandbox, caller.brand, request)
    return endpoint(sandbox, API, handle, limit=wildberries.rate_limit(sandbox, API, endpoint_class, ORIGIN))


def _campaigns(sandbox: Sandbox, brand: str) -> tuple[ads.AdCampaign, ...]:
    return ads.campaigns(sandbox.seed, "wb", brand, ads.book(sandbox, API).scale)


def _status(sandbox: Sandbox, brand: str, campaign: ads.AdCampaign) -> int:
    return PAUSED if (brand, campaign.campaign_id) in ads.book(sandbox, API).paused else ACTIVE


def _placements(campaign: ads.AdCampaign) -> tuple[str, ...]:
    return ("combined",) if campaign.bid_type == "unified" else ("search", "recommendations")


def _bid(book: ads.AdBook, brand: str, campaign: ads.AdCampaign, unit: ads.AdUnit, placement: str) -> int:
    return book.bids.get((brand, campaign.campaign_id, f"{unit.unit_id}@{placement}"), unit.base_bid)


def _int_list(text: str, name: str, limit: int | None = None) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise WbError(400, f"invalid {name} value") from None
    if limit is not None and len(values) > limit:
        raise WbError(400, f"{name}: maximum {limit} values")
    return values


async def _json(request: web.Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise WbError(400, "can not deserialize response body") from None


# -- campaigns -----------------------------------------------------------------------------------------

async def promotion_count(sandbox: Sandbox, brand: str, request: web.Request) -> web.Response:
    groups: dict[int, list[dict[str, Any]]] = {}
    for c in _campaigns(sandbox, brand):
        groups.setdefault(_status(sandbox, brand, c), []).append(
            {"advertId": c.campaign_id, "changeTime": sandbox.now().isoformat()})
    adverts = [{"type": 9, "status": s, "count": len(refs), "advert_list": refs} for s, refs in sorted(groups.items())]
    return web.json_response({"adverts": adverts, "all": sum(len(r) for r in groups.values())})


async def adverts(sandbox: Sandbox, brand: str, request: web.Request) -> web.Response:
    ids = set(_int_list(request.query.get("ids", ""), "ids", 50))
    statuses = set(_int_list(request.query.get("statuses", ""), "statuses"))
    payment = request.query.get("payment_type")
    if payment not in (None, "cpm", "cpc"):
        raise WbError(400, "invalid payment_type value")
    book = ads.book(sandbox, API)
    found = []
    for c in _campaigns(sandbox, brand):
        status = _status(sandbox, brand, c)
        if (ids and c.campaign_id not in ids) or (statuses and status not in statuses) or \
                (payment and c.payment_type != payment):
            continue
        nm_settings = []
        for n, u in enumerate(book.active_units(brand, c)):
            await ads.let_others_in(n)
            if c.bid_type == "unified":
                both = _bid(book, brand, c, u, "combined")
                kopecks = {"search": both, "recommendations": both}
            else:
                kopecks = {p: _bid(book, brand, c, u, p) for p in ("search", "recommendations")}
            nm_settings.append({"nm_id": int(u.unit_id), "bids_kopecks": kopecks,
                                "subject": {"id": 1, "name": u.title.split()[0]}})
        found.append({
            "id": c.campaign_id, "bid_type": c.bid_type, "status": status, "currency": "RUB",
            "settings": {"name": c.name, "payment_type": c.payment_type,
                         "placements": {"search": True, "recommendations": c.bid_type == "manual"}},
            "nm_settings": nm_settings, "restrictions": {},
            "timestamps": {"created": "2025-12-01T10:00:00+03:00", "updated": sandbox.now().isoformat(),
                           "started": "2025-12-01T10:00:00+03:00", "deleted": "2100-01-01T00:00:00+03:00"},
        })
    return web.json_response({"adverts": found})


def _switch(action: str) -> Handler:
    async def switch(sandbox: Sandbox, brand: str, request: web.Request) -> web.Response:
        try:
            advert_id = int(request.query.get("id", ""))
        except ValueError:
            raise WbError(400, "Некорректный ID кампании") from None
        campaign = ads.find(sandbox.seed, "wb", brand, advert_id, ads.book(sandbox, API).scale)
        if campaign is None:
            raise WbError(400, "Кампания не найдена")
        book = ads.book(sandbox, API)
        key = (brand, advert_id)
        wanted_from = ACTIVE if action == "pause" else PAUSED
        if _status(sandbox, brand, campaign) != wanted_from:
            return web.Response(status=422, text="Статус не изменен", content_type="text/plain")
        if action == "pause":
            book.paused.add(key)
            sandbox.count("campaign_paused", f"wb:{brand}:{advert_id}")
        else:
            book.paused.discard(key)
            sandbox.count("campaign_started", f"wb:{brand}:{advert_id}")
        return web.Response(status=200)
    return switch


# -- bids ----------------------------------------------------------------------------------------------

async def set_bids(sandbox: Sandbox, brand: str, request: web.Request) -> web.Response:
    body = await _json(request)
    items = body.get("bids") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise WbError(400, "bids: required non-empty array")
    if len(items) > 50:
        raise WbError(400, "bids: maximum 50 campaigns")
    book = ads.book(sandbox, API)
    seen: set[int] = set()
    planned: list[tuple[ads.AdCampaign, ads.AdUnit, str, int]] = []
    for item in items:
        advert_id = item.get("advert_id") if isinstance(item, dict) else None
        if not isinstance(advert_id, int):
            raise WbError(400, "advert_id: required integer")
        if advert_id in seen:
            raise WbError(400, f"campaign {advert_id} is not unique")
        seen.add(advert_id)
        campaign = ads.find(sandbox.seed, "wb", brand, advert_id, book.scale)
        if campaign is None:
            raise WbError(400, f"campaign {advert_id} not found")
        nm_bids = item.get("nm_bids")
        if not isinstance(nm_bids, list) or not nm_bids or len(nm_bids) > 50:
            raise WbError(400, "nm_bids: 1..50 items")
        units = {u.unit_id: u for u in book.active_units(brand, campaign)}
        for nb in nm_bids:
            nm, bid, placement = nb.get("nm_id"), nb.get("bid_kopecks"), nb.get("placement")
            unit = units.get(str(nm))
            if unit is None:
                raise WbError(400, f"nm {nm} not found in campaign {advert_id}")
            if placement not in _placements(campaign):
                raise WbError(400, f"placement {placement!r} does not match bid type {campaign.bid_type}")
            if not isinstance(bid, int) or isinstance(bid, bool):
                raise WbError(400, "bid_kopecks: required integer")
            if bid < unit.min_bid:
                raise WbError(400, f"wrong bid value: {bid}; min: {unit.min_bid}")
            planned.append((campaign, unit, placement, bid))
    echo: dict[int, list[dict[str, Any]]] = {}
    for campaign, unit, placement, bid in planned:
        book.bids[(brand, campaign.campaign_id, f"{unit.unit_id}@{placement}")] = bid
        sandbox.count("bids_set", f"wb:{brand}:{campaign.campaign_id}:{unit.unit_id}")
        echo.setdefault(campaign.campaign_id, []).append(
            {"nm_id": int(unit.unit_id), "bid_kopecks": bid, "placement": placement})
    sandbox.count("bid_requests", f"wb:{brand}")
    return web.json_response({"bids": [{"advert_id": a, "nm_bids": nbs} for a, nbs in echo.items()],
                              "currency": "RUB"})


async def min_bids(sandbox: Sandbox, brand: str, request: web.Request) -> web.Response:
    body = await _json(request)
    advert_id, nm_ids = body.get("advert_id"), body.get("nm_ids") or []
    kinds = body.get("placement_types") or []
    campaign = ads.find(sandbox.seed, "wb", brand, advert_id, ads.book(sandbox, API).scale) \
        if isinstance(advert_id, int) else None
    if campaign is None:
        raise WbError(400, "advert not found")
    if body.get("payment_type") not in ("cpm", "cpc") or not kinds:
        raise WbError(400, "payment_type and placement_types are required")
    units = {u.unit_id: u for u in campaign.units}
    found = []
    for nm in nm_ids:
        unit = units.get(str(nm))
        if unit is not None:
            found.append({"nm_id": nm, "bids": [{"type": k, "value": unit.min_bid} for k in kinds]})
    return web.json_response({"bids": found})


async def auction_nms(sandbox: Sandbox, brand: str, request: web.Request) -> web.Response:
    body = await _json(request)
    items = body.get("nms") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise WbError(400, "nms: required non-empty array")
    book = ads.book(sandbox, API)
    replies = []
    for item in items:
        advert_id = item.get("advert_id")
        campaign = ads.find(sandbox.seed, "wb", brand, advert_id, book.scale) if isinstance(advert_id, int) else None
        if campaign is None:
            raise WbError(400, f"advert {advert_id} not found")
        change = item.get("nms") or {}
        add, delete = change.get("add") or [], change.get("delete") or []
        if set(map(str, add)) & set(map(str, delete)):
            raise WbError(400, f"nomenclature cannot be both added and deleted for advert {advert_id}")
        known = {u.unit_id for u in campaign.units}
        added, deleted = [], []
        for nm in add:
            key = (brand, advert_id, str(nm))
            if str(nm) in known and key in book.removed:
                book.removed.discard(key)
                book.bids.pop((brand, advert_id, f"{nm}@combined"), None)   # WB sets the current minimum
                added.append(nm)
                sandbox.count("units_added", f"wb:{brand}:{advert_id}:{nm}")
        for nm in delete:
            key = (brand, advert_id, str(nm))
            if str(nm) in known and key not in book.removed:
                book.removed.add(key)
                deleted.append(nm)
                sandbox.count("units_removed", f"wb:{brand}:{advert_id}:{nm}")
        replies.append({"advert_id": advert_id, "nms": {"added": added, "deleted": deleted}})
    return web.json_response({"nms": replies})


# -- statistics ----------------------------------------------------------------------------------------

def _roubles(kopecks: int) -> float:
    return round(kopecks / 100, 2)


async def fullstats(sandbox: Sandbox, brand: str, request: web.Request) -> web.Response:
    ids = _int_list(request.query.get("ids", ""), "ids", 50)
    if not ids:
        raise WbError(400, "ids: required")
    try:
        begin = date.fromisoformat(request.query.get("beginDate", ""))
        end = date.fromisoformat(request.query.get("endDate", ""))
    except ValueError:
        raise WbError(400, "invalid beginDate or endDate") from None
    if end < begin or (end - begin).days > 30:
        raise WbError(400, "the period must be 1..31 days")
    book = ads.book(sandbox, API)
    now = sandbox.now()
    found = []
    for c in _campaigns(sandbox, brand):
        if c.campaign_id not in ids:
            continue
        days, booster = [], []
        total: dict[str, float] = {"views": 0, "clicks": 0, "sum": 0, "orders": 0, "sum_price": 0}
        for day in ads.days(begin, min(end, sandbox.today())):
            fraction = ads.day_fraction(now, day)
            nms = []
            await ads.let_others_in(0, every=1)
            figures = [(u, ads.figures(sandbox.seed, c, u, day, fraction)) for u in book.active_units(brand, c)]
            for u, f in figures:
                nms.append({"nmId": int(u.unit_id), "name": u.title, "views": f.views, "clicks": f.clicks,
                            "ctr": round(f.clicks * 100 / f.views, 2) if f.views else 0,
                            "cpc": _roubles(f.spent // f.clicks) if f.clicks else 0, "sum": _roubles(f.spent),
                            "atbs": f.orders * 2, "orders": f.orders, "cr": 0, "shks": f.orders,
                            "sum_price": _roubles(f.revenue), "canceled": 0})
                booster.append({"date": day.isoformat(), "nm": int(u.unit_id), "avg_position": f.avg_position})
            day_total = {"views": sum(f.views for _, f in figures), "clicks": sum(f.clicks for _, f in figures),
                         "orders": sum(f.orders for _, f in figures)}
            spent = sum(_roubles(f.spent) for _, f in figures)
            revenue = sum(_roubles(f.revenue) for _, f in figures)
            for k in ("views", "clicks", "orders"):
                total[k] += day_total[k]
            total["sum"] += spent
            total["sum_price"] += revenue
            days.append({"date": f"{day.isoformat()}T00:00:00+03:00", **day_total, "sum": round(spent, 2),
                         "sum_price": round(revenue, 2), "ctr": 0, "cpc": 0, "cr": 0, "atbs": 0, "shks": 0,
                         "canceled": 0,
                         "apps": [{"appType": 32, **day_total, "sum": round(spent, 2), "sum_price": round(revenue, 2),
                                   "ctr": 0, "cpc": 0, "cr": 0, "atbs": 0, "shks": 0, "canceled": 0, "nms": nms}]})
        found.append({"advertId": c.campaign_id, **total, "sum": round(total["sum"], 2),
                      "sum_price": round(total["sum_price"], 2), "ctr": 0, "cpc": 0, "cr": 0, "atbs": 0, "shks": 0,
                      "canceled": 0, "days": days, "boosterStats": booster})
    return web.json_response(found)


async def ping(sandbox: Sandbox, brand: str, request: web.Request) -> web.Response:
    return web.json_response({"Status": "OK", "TS": sandbox.now().isoformat()})


async def scale_control(request: web.Request) -> web.Response:
    """`POST /wb-advert/_sandbox/scale {"campaigns": 20, "units": 500}`: benchmark sizes until reset."""
    sandbox = request.app[SANDBOX]
    body = await request.json()
    ads.set_scale(sandbox, API, ads.Scale(int(body.get("campaigns", 3)), int(body.get("units", 12))), "wb")
    return web.json_response({"campaigns": body.get("campaigns", 3), "units": body.get("units", 12)})


def _error_body(status: int, message: str) -> dict[str, Any]:
    return wildberries.problem(status, "error", message, ORIGIN)


def install(sandbox: Sandbox) -> None:
    app = sandbox.subapp(API, error_body=_error_body, auth=wildberries.token_auth(ORIGIN))
    app[SANDBOX] = sandbox
    for cls, (rate, burst) in DEFAULT_LIMITS.items():
        sandbox.define_limit(API, cls, rate, burst)
    app.router.add_get("/adv/v1/promotion/count", _method(sandbox, "count", promotion_count))
    app.router.add_get("/api/advert/v2/adverts", _method(sandbox, "adverts", adverts))
    app.router.add_get("/adv/v3/fullstats", _method(sandbox, "fullstats", fullstats))
    app.router.add_patch("/api/advert/v1/bids", _method(sandbox, "bids", set_bids))
    app.router.add_post("/api/advert/v1/bids/min", _method(sandbox, "bids_min", min_bids))
    app.router.add_get("/adv/v0/pause", _method(sandbox, "pause", _switch("pause")))
    app.router.add_get("/adv/v0/start", _method(sandbox, "start", _switch("start")))
    app.router.add_patch("/adv/v0/auction/nms", _method(sandbox, "auction_nms", auction_nms))
    app.router.add_get("/ping", _method(sandbox, "ping", ping))
    app.router.add_post("/_sandbox/scale", scale_control)
