"""Fake Ozon Seller API (`https://api-seller.ozon.ru`), the logistic subset (seed 000 §8.4.1–8.4.3).

Served under `/ozon-seller` with the real paths, headers, JSON shapes, paging and limits of the current
spec (docs/external-apis.md "Ozon Seller API"):

- `POST /v3/product/list`, `POST /v3/product/info/list` — the account's products and their SKUs
- `POST /v1/analytics/stocks` — FBO stock per warehouse/cluster (stands for the retired
  `/v1/analytics/stock_on_warehouses` of seed 000 §8.4.1)
- `POST /v1/analytics/data` — ordered units by sku/day (seed 000 §8.4.2), 1 request/minute per Client-Id
- `POST /v1/cluster/list` — FBO clusters and their warehouses (stands for `/v1/warehouse/list`,
  disabled by Ozon on 2026-04-07, seed 000 §8.4.3)

Data comes from `adolfd.sandbox.catalog` for the brand owning the Client-Id.
"""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web

from adolfd.sandbox import catalog
from adolfd.sandbox.accounts import ACCOUNTS, brand_of_ozon_seller
from adolfd.sandbox.core import (
    MSK,
    ApiError,
    Caller,
    Handler,
    RateLimit,
    Sandbox,
    day_range,
    endpoint,
    retry_after_header,
    token_gate,
)

API = "ozon-seller"

# gRPC status codes Ozon puts in `code` (rpcStatus), by HTTP status
_GRPC_CODE = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 429: 8, 500: 13, 503: 14, 504: 4}

RATE_LIMIT_MESSAGE = "You have reached request rate limit per second"

# endpoint classes: "global" is Ozon's 50 rps on all methods per Client-Id; the others are per method
GLOBAL = "global"
PRODUCT_LIST = "product_list"
PRODUCT_INFO = "product_info"
ANALYTICS_STOCKS = "analytics_stocks"
ANALYTICS_DATA = "analytics_data"
CLUSTER_LIST = "cluster_list"

DEFAULT_LIMITS = {
    GLOBAL: (50.0, 50.0),                  # "не больше 50 запросов в секунду … с одного Client ID"
    ANALYTICS_DATA: (1.0 / 60.0, 1.0),     # /v1/analytics/data: "не больше 1 раза в минуту"
}

_TURNOVER_GRADES = ("UNSPECIFIED", "TURNOVER_GRADE_NONE", "DEFICIT", "POPULAR", "ACTUAL", "SURPLUS", "NO_SALES",
                    "WAS_NO_SALES", "RESTRICTED_NO_SALES", "COLLECTING_DATA", "WAITING_FOR_SUPPLY", "WAS_DEFICIT",
                    "WAS_POPULAR", "WAS_ACTUAL", "WAS_SURPLUS")
_ITEM_TAGS = ("ITEM_ATTRIBUTE_NONE", "ECONOM", "NOVEL", "DISCOUNT", "FBS_RETURN", "SUPER")
_ARCHIVED_VISIBILITY = ("ARCHIVED", "AUTO_ARCHIVED", "MANUAL_ARCHIVED", "SEASONAL_AUTO_ARCHIVED")
_VISIBILITY = ("ALL", "VISIBLE", "INVISIBLE", "EMPTY_STOCK", "NOT_MODERATED", "MODERATED", "DISABLED",
               "STATE_FAILED", "READY_TO_SUPPLY", "VALIDATION_STATE_PENDING", "VALIDATION_STATE_FAIL",
               "VALIDATION_STATE_SUCCESS", "TO_SUPPLY", "IN_SALE", "REMOVED_FROM_SALE", "OVERPRICED",
               "CRITICALLY_OVERPRICED", "EMPTY_BARCODE", "BARCODE_EXISTS", "QUARANTINE", "ARCHIVED",
               "OVERPRICED_WITH_STOCK", "PARTIAL_APPROVED", "AUTO_ARCHIVED", "MANUAL_ARCHIVED",
               "SEASONAL_AUTO_ARCHIVED", "VISIBLE_WITH_FBO_STOCK")
# dimensions and metrics open to sellers without Premium (the sandbox account has none)
_DIMENSIONS = ("sku", "day")
_ALL_DIMENSIONS = ("unknownDimension", "sku", "spu", "day", "week", "month", "year", "category1", "category2",
                   "brand", "modelID", "descriptionType")
_METRICS = ("ordered_units", "revenue")


def ozon_error_body(status: int, message: str) -> dict[str, Any]:
    """Ozon's error body (schema rpcStatus): `{code, message, details}`."""
    return {"code": _GRPC_CODE.get(status, 13), "message": message, "details": []}


class OzonError(ApiError):
    """An Ozon refusal; `code` overrides the gRPC code the status implies."""

    def __init__(self, status: int, message: str, code: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        body = ozon_error_body(status, message)
        if code is not None:
            body["code"] = code
        super().__init__(status, message, headers=headers, body=body)


def _bad(message: str) -> OzonError:
    return OzonError(400, message)


# -- auth and limits -----------------------------------------------------------------------------------

async def authenticate(request: web.Request) -> Caller:
    """Client-Id + Api-Key on every call; failures answer as Ozon does (docs/external-apis.md)."""
    client_id = request.headers.get("Client-Id", "").strip()
    api_key = request.headers.get("Api-Key", "").strip()
    if not client_id or not api_key:
        raise OzonError(401, "Client-Id and Api-Key headers are required")
    if not client_id.isdigit() or int(client_id) <= 0:
        raise OzonError(400, "Client-Id header value should be positive integer")
    brand = brand_of_ozon_seller(client_id)
    if brand is None or ACCOUNTS[brand].ozon_seller.api_key != api_key:
        raise OzonError(404, "Invalid Api-Key, please check the key and try again")
    return Caller(account=client_id, brand=brand)


def _rate_limited(endpoint_class: str, wait: float) -> OzonError:
    return OzonError(429, RATE_LIMIT_MESSAGE, headers={"retry-after": retry_after_header(wait),
                                                       "ratelimit-remaining": "0"})


def rate_limit(sandbox: Sandbox, endpoint_class: str) -> RateLimit:
    """Ozon's 50 rps on all methods per Client-Id, then the method's own limit."""
    return token_gate(sandbox, API, GLOBAL, endpoint_class, refuse=_rate_limited)


Impl = Callable[[Sandbox, str, dict[str, Any]], dict[str, Any]]


def json_method(sandbox: Sandbox, impl: Impl) -> Handler:
    """A Seller API method: a JSON object in, `impl(sandbox, brand, body)` out."""
    async def handle(request: web.Request, caller: Caller) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _bad(f"invalid request payload: {exc}") from exc
        if not isinstance(body, dict):
            raise _bad("invalid request payload: expected a JSON object")
        assert caller.brand is not None
        return web.json_response(impl(sandbox, caller.brand, body))

    return handle


def add_method(sandbox: Sandbox, path: str, endpoint_class: str, impl: Impl) -> None:
    """Route `POST path` of the Seller API (also used by `ozon_reviews`)."""
    sandbox.subapp(API).router.add_post(
        path, endpoint(sandbox, API, json_method(sandbox, impl), limit=rate_limit(sandbox, endpoint_class)))


def _int_field(body: dict[str, Any], name: str, *, required: bool, lo: int, hi: int | None = None,
               default: int = 0) -> int:
    value = body.get(name)
    if value is None:
        if required:
            raise _bad(f"{name} is required")
        return default
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).lstrip("-").isdigit():
        raise _bad(f"{name} must be an integer")
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        raise _bad(f"{name} must be between {lo} and {hi}" if hi is not None else f"{name} must be at least {lo}")
    return value


def _id_list(body: dict[str, Any], name: str, *, max_items: int | None = None) -> list[int]:
    """An array of int64 identifiers, sent as strings (spec) or numbers."""
    values = body.get(name) or []
    if not isinstance(values, list):
        raise _bad(f"{name} must be an array")
    if max_items is not None and len(values) > max_items:
        raise _bad(f"{name}: at most {max_items} values per request")
    ids = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, str)) or not str(v).isdigit():
            raise _bad(f"{name}: {v!r} is not an int64 identifier")
        ids.append(int(v))
    return ids


def _enum_list(body: dict[str, Any], name: str, allowed: tuple[str, ...]) -> list[str]:
    values = body.get(name) or []
    if not isinstance(values, list) or any(v not in allowed for v in values):
        raise _bad(f"{name}: values must be among {', '.join(allowed)}")
    return values


def _parse_day(value: Any, name: str) -> date:
    if not isinstance(value, str) or not value:
        raise _bad(f"{name} is required (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value[:10])
    except ValueError as exc:
        raise _bad(f"{name}: {value!r} is not a date") from exc


def _rfc3339(day: date) -> str:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC).isoformat().replace("+00:00", "Z")


def _fbo_available(sandbox: Sandbox, article: catalog.Article, day: date) -> int:
    return sum(catalog.cluster_stock(sandbox.seed, article, c, day).available for c in article.cluster_ids)


# -- products ------------------------------------------------------------------------------------------

def _encode_last_id(product_id: int) -> str:
    return base64.b64encode(json.dumps([product_id, product_id], separators=(",", ":")).encode()).decode()


def _decode_last_id(last_id: str) -> int:
    try:
        decoded = json.loads(base64.b64decode(last_id.encode(), validate=True))
        return int(decoded[0])
    except (binascii.Error, ValueError, TypeError, IndexError, json.JSONDecodeError) as exc:
        raise _bad(f"last_id: {last_id!r} is not a valid page token") from exc


def product_list(sandbox: Sandbox, brand: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST /v3/product/list: products by product_id ascending, `last_id` paging, limit 1..1000."""
    limit = _int_field(body, "limit", required=True, lo=1, hi=1000)
    flt = body.get("filter") or {}
    if not isinstance(flt, dict):
        raise _bad("filter must be an object")
    offer_ids = flt.get("offer_id") or []
    if not isinstance(offer_ids, list) or not all(isinstance(o, str) for o in offer_ids):
        raise _bad("filter.offer_id must be an array of strings")
    product_ids = _id_list(flt, "product_id")
    if offer_ids and product_ids:
        raise _bad("filter: use only one group of identifiers, offer_id or product_id")
    if len(offer_ids) > 1000 or len(product_ids) > 1000:
        raise _bad("filter: at most 1000 identifiers")
    visibility = flt.get("visibility") or "ALL"
    if visibility not in _VISIBILITY:
        raise _bad(f"filter.visibility: unknown value {visibility!r}")

    items = sorted(catalog.articles(sandbox.seed, brand), key=lambda a: a.product_id)
    if offer_ids:
        wanted_offers = set(offer_ids)
        items = [a for a in items if a.offer_id in wanted_offers]
    elif product_ids:
        wanted_products = set(product_ids)
        items = [a for a in items if a.product_id in wanted_products]
    elif visibility in _ARCHIVED_VISIBILITY:
        items = []                               # nothing of the sandbox catalogue is archived
    total = len(items)
    last_id = body.get("last_id") or ""
    if not isinstance(last_id, str):
        raise _bad("last_id must be a string")
    if last_id:
        after = _decode_last_id(last_id)
        items = [a for a in items if a.product_id > after]
    page = items[:limit]
    today = sandbox.today()
    return {"result": {
        "items": [{
            "product_id": a.product_id,
            "offer_id": a.offer_id,
            "has_fbo_stocks": _fbo_available(sandbox, a, today) > 0,
            "has_fbs_stocks": False,
            "archived": False,
            "is_discounted": False,
            "quants": [],
        } for a in page],
        "total": total,
        "last_id": _encode_last_id(page[-1].product_id) if page else "",
    }}


def product_info_list(sandbox: Sandbox, brand: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST /v3/product/info/list: product cards (with `sku`) by offer_id / product_id / sku, ≤1000 in all."""
    offer_ids = body.get("offer_id") or []
    if not isinstance(offer_ids, list) or not all(isinstance(o, str) for o in offer_ids):
        raise _bad("offer_id must be an array of strings")
    product_ids = _id_list(body, "product_id")
    skus = _id_list(body, "sku")
    if len(offer_ids) + len(product_ids) + len(skus) > 1000:
        raise _bad("at most 1000 identifiers in offer_id, product_id and sku together")
    if not (offer_ids or product_ids or skus):
        raise _bad("give offer_id, product_id or sku")
    today = sandbox.today()
    created = catalog.sales_window(today, 400)[0]
    items = []
    for a in catalog.articles(sandbox.seed, brand):
        if a.offer_id not in offer_ids and a.product_id not in product_ids and a.sku not in skus:
            continue
        present = _fbo_available(sandbox, a, today)
        items.append({
            "id": a.product_id,
            "offer_id": a.offer_id,
            "sku": a.sku,
            "name": a.name,
            "barcodes": [a.barcode],
            "currency_code": "RUB",
            "price": f"{a.price:.2f}",
            "old_price": f"{round(a.price * 1.3):.2f}",
            "min_price": f"{round(a.price * 0.9):.2f}",
            "vat": "0.2",
            "created_at": _rfc3339(created),
            "updated_at": _rfc3339(today),
            "is_archived": False,
            "is_autoarchived": False,
            "is_discounted": False,
            "is_kgt": False,
            "is_super": False,
            "is_prepayment_allowed": True,
            "has_discounted_fbo_item": False,
            "discounted_fbo_stocks": 0,
            "description_category_id": 17028922,
            "type_id": 91565,
            "images": [], "images360": [], "color_image": [], "primary_image": [],
            "model_info": {"model_id": a.product_id + 10_000_000, "count": 1},
            "statuses": {
                "is_created": True, "moderate_status": "approved", "status": "price_sent",
                "status_name": "Продается", "status_description": "", "status_failed": "",
                "status_tooltip": "", "validation_status": "success", "status_updated_at": _rfc3339(created),
            },
            "stocks": {"has_stock": present > 0,
                       "stocks": [{"present": present, "reserved": 0, "sku": a.sku, "source": "fbo"}]},
            "sources": [{"sku": a.sku, "source": "sds", "created_at": _rfc3339(created),
                         "shipment_type": "SHIPMENT_TYPE_GENERAL", "quant_code": ""}],
            "visibility_details": {"has_price": True, "has_stock": present > 0},
            "availabilities": [],
            "commissions": [],
            "errors": [],
            "promotions": [],
            "volume_weight": 1.2,
        })
    return {"items": items}


# -- analytics -----------------------------------------------------------------------------------------

def analytics_stocks(sandbox: Sandbox, brand: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/analytics/stocks: FBO stock rows per warehouse for ≤100 SKUs; no paging."""
    if "skus" not in body or not body.get("skus"):
        raise _bad("skus is required: 1 to 100 SKUs")
    skus = _id_list(body, "skus", max_items=100)
    cluster_ids = set(_id_list(body, "cluster_ids"))
    macro_ids = set(_id_list(body, "macrolocal_cluster_ids"))
    if cluster_ids and macro_ids:
        raise _bad("use only one of cluster_ids and macrolocal_cluster_ids")
    warehouse_ids = set(_id_list(body, "warehouse_ids"))
    grades = set(_enum_list(body, "turnover_grades", _TURNOVER_GRADES))
    tags = set(_enum_list(body, "item_tags", _ITEM_TAGS))
    wanted = set(skus)
    items = []
    for row in catalog.fbo_stocks(sandbox.seed, brand, sandbox.today()):
        if row.article.sku not in wanted:
            continue
        if cluster_ids and row.cluster.cluster_id not in cluster_ids:
            continue
        if macro_ids and row.cluster.macrolocal_cluster_id not in macro_ids:
            continue
        if warehouse_ids and row.warehouse.warehouse_id not in warehouse_ids:
            continue
        if grades and row.turnover_grade not in grades:
            continue
        if tags and "ITEM_ATTRIBUTE_NONE" not in tags:
            continue                              # sandbox items carry no tags
        items.append(_stock_item(row))
    return {"items": items}


def _stock_item(row: catalog.FboStock) -> dict[str, Any]:
    return {
        "sku": row.article.sku,
        "offer_id": row.article.offer_id,
        "name": row.article.name,
        "warehouse_id": row.warehouse.warehouse_id,
        "warehouse_name": row.warehouse.name,
        "cluster_id": row.cluster.cluster_id,
        "cluster_name": row.cluster.name,
        "macrolocal_cluster_id": row.cluster.macrolocal_cluster_id,
        "available_stock_count": row.available,
        "valid_stock_count": 0,
        "transit_stock_count": row.transit,
        "requested_stock_count": 0,
        "return_from_customer_stock_count": 0,
        "return_to_seller_stock_count": 0,
        "other_stock_count": 0,
        "stock_defect_stock_count": 0,
        "transit_defect_stock_count": 0,
        "excess_stock_count": 0,
        "expiring_stock_count": 0,
        "waiting_docs_stock_count": 0,
        "ads": row.ads,
        "ads_cluster": row.ads_cluster,
        "idc": row.idc,
        "idc_cluster": row.idc_cluster,
        "days_without_sales": row.days_without_sales,
        "days_without_sales_cluster": row.days_without_sales_cluster,
        "turnover_grade": row.turnover_grade,
        "turnover_grade_cluster": row.turnover_grade_cluster,
        "item_tags": [],
    }


_OPS = {
    "EQ": lambda a, b: a == b, "GT": lambda a, b: a > b, "GTE": lambda a, b: a >= b,
    "LT": lambda a, b: a < b, "LTE": lambda a, b: a <= b,
}


def analytics_data(sandbox: Sandbox, brand: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/analytics/data: metrics grouped by `dimension` (sku, day) over date_from..date_to."""
    date_from = _parse_day(body.get("date_from"), "date_from")
    date_to = _parse_day(body.get("date_to"), "date_to")
    if date_to < date_from:
        raise _bad("date_to is earlier than date_from")
    dimension = body.get("dimension")
    if not isinstance(dimension, list) or not dimension:
        raise _bad("dimension is required: an array such as [\"sku\"] or [\"sku\", \"day\"]")
    for d in dimension:
        if d not in _ALL_DIMENSIONS:
            raise _bad(f"dimension: unknown value {d!r}")
        if d not in _DIMENSIONS:
            raise _bad(f"dimension {d!r} is not served by the sandbox (it serves {', '.join(_DIMENSIONS)})")
    if len(set(dimension)) != len(dimension):
        raise _bad("dimension: values repeat")
    metrics = body.get("metrics")
    if not isinstance(metrics, list) or not metrics:
        raise _bad("metrics is required")
    if len(metrics) > 14:
        raise OzonError(400, "InvalidArgument: at most 14 metrics", code=3)
    for m in metrics:
        if m not in _METRICS:
            raise _bad(f"metric {m!r} needs a Premium subscription or is unknown; available: {', '.join(_METRICS)}")
    limit = _int_field(body, "limit", required=True, lo=1, hi=1000)
    offset = _int_field(body, "offset", required=False, lo=0)

    today = sandbox.today()
    last = min(date_to, today)                    # nothing is ordered in the future
    days = day_range(date_from, last) if last >= date_from else []
    by_sku = catalog.article_by_sku(sandbox.seed, brand)
    rows: list[tuple[tuple[Any, ...], list[dict[str, str]], list[float]]] = []
    for article in sorted(by_sku.values(), key=lambda a: a.sku):
        per_day = {d: catalog.ordered_units_total(sandbox.seed, article, d) for d in days}
        groups = [(d, {d: n}) for d, n in per_day.items()] if "day" in dimension else [(None, per_day)]
        for day, units_by_day in groups:
            units = sum(units_by_day.values())
            if units == 0:
                continue
            values = {"ordered_units": float(units), "revenue": float(units * article.price)}
            dims: list[dict[str, str]] = []
            key: list[int | date] = []
            for d in dimension:
                if d == "sku":
                    dims.append({"id": str(article.sku), "name": article.name})
                    key.append(article.sku)
                elif day is not None:          # "day" is a dimension exactly when the groups are days (above)
                    dims.append({"id": day.isoformat(), "name": ""})
                    key.append(day)
            rows.append((tuple(key), dims, [values[m] for m in metrics]))

    for flt in body.get("filters") or []:
        rows = _apply_filter(rows, flt, dimension, metrics)
    rows.sort(key=lambda r: r[0])
    for sort in reversed(body.get("sort") or []):
        sort_key = sort.get("key") if isinstance(sort, dict) else None
        if sort_key not in metrics:
            raise _bad(f"sort.key must be one of the requested metrics, got {sort_key!r}")
        i = metrics.index(sort_key)
        rows.sort(key=lambda r: r[2][i], reverse=str(sort.get("order", "ASC")).upper() == "DESC")

    totals = [sum(r[2][i] for r in rows) for i in range(len(metrics))]
    page = rows[offset: offset + limit]
    return {
        "result": {"data": [{"dimensions": dims, "metrics": values} for _, dims, values in page], "totals": totals},
        "timestamp": sandbox.now().astimezone(MSK).strftime("%Y-%m-%d %H:%M:%S"),
    }


def _apply_filter(rows: list[Any], flt: Any, dimension: list[str], metrics: list[str]) -> list[Any]:
    if not isinstance(flt, dict) or "key" not in flt:
        raise _bad("filters: each filter needs key, op and value")
    key, op, value = flt["key"], str(flt.get("op") or "EQ"), str(flt.get("value", ""))
    if op not in _OPS:
        raise _bad(f"filters.op must be one of {', '.join(_OPS)}")
    if key in dimension:
        i = dimension.index(key)
        return [r for r in rows if _OPS[op](r[1][i]["id"], value)]
    if key in metrics:
        i = metrics.index(key)
        try:
            number = float(value)
        except ValueError as exc:
            raise _bad(f"filters.value {value!r} is not a number") from exc
        return [r for r in rows if _OPS[op](r[2][i], number)]
    raise _bad(f"filters.key {key!r} is neither a requested dimension nor a metric")


# -- clusters ------------------------------------------------------------------------------------------

def cluster_list(sandbox: Sandbox, brand: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/cluster/list: FBO clusters (CLUSTER_TYPE_OZON = Russia) with their warehouses."""
    cluster_type = body.get("cluster_type")
    if cluster_type not in ("CLUSTER_TYPE_OZON", "CLUSTER_TYPE_CIS"):
        raise _bad("cluster_type is required: CLUSTER_TYPE_OZON or CLUSTER_TYPE_CIS")
    wanted = set(_id_list(body, "cluster_ids"))
    if cluster_type == "CLUSTER_TYPE_CIS":
        return {"clusters": []}                   # the sandbox sells in Russia only
    return {"clusters": [{
        "id": c.cluster_id,
        "name": c.name,
        "type": "CLUSTER_TYPE_OZON",
        "macrolocal_cluster_id": c.macrolocal_cluster_id,
        "logistic_clusters": [{"warehouses": [
            {"warehouse_id": w.warehouse_id, "name": w.name, "type": w.type} for w in c.warehouses
        ]}],
    } for c in catalog.clusters() if not wanted or c.cluster_id in wanted]}


# -- install -------------------------------------------------------------------------------------------

ROUTES: tuple[tuple[str, str, Impl], ...] = (
    ("/v3/product/list", PRODUCT_LIST, product_list),
    ("/v3/product/info/list", PRODUCT_INFO, product_info_list),
    ("/v1/analytics/stocks", ANALYTICS_STOCKS, analytics_stocks),
    ("/v1/analytics/data", ANALYTICS_DATA, analytics_data),
    ("/v1/cluster/list", CLUSTER_LIST, cluster_list),
)


def install(sandbox: Sandbox) -> None:
    sandbox.subapp(API, error_body=ozon_error_body, auth=authenticate)
    for endpoint_class, (rate, burst) in DEFAULT_LIMITS.items():
        sandbox.define_limit(API, endpoint_class, rate, burst)
    for path, endpoint_class, impl in ROUTES:
        add_method(sandbox, path, endpoint_class, impl)
