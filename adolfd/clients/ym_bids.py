"""Yandex Market Partner API, sales-boost bids, for the marketing module (seed 002).

Yandex Market lets the API manage one boost campaign per business: `PUT /v2/businesses/{id}/bids`
creates/enables it and sets bids per shop SKU; a bid is a share of the item's price in hundredths of a
percent (50..9999; `0` takes the item out). adolfd models it as one campaign per brand whose bid-able units
are SKUs (docs/external-apis.md "Yandex Market bids"). The seed's calls map to:

| seed call | method |
| --- | --- |
| `get_campaigns`, `get_keywords`, `ping` | `POST /v2/businesses/{id}/bids/info` (paged by pageToken, ≤500) |
| `update_bid`, pause/resume keyword | `PUT /v2/businesses/{id}/bids` (≤1500 items; bid 0 removes) |
| `get_campaign_stats`, `get_keyword_stats` | `POST /v2/campaigns/{id}/stats/orders` (orders with `bidFee`) |
| item prices (to turn ₽ into a share) | `POST /v2/businesses/{id}/offer-prices` (≤500 offerIds) |
| competitor bids | `POST /v2/businesses/{id}/bids/recommendations` |

Each bid method has its own resource limit (500 a minute each), so each is its own endpoint class (`bids_info`,
`bids`, `bids_recommendations`): reading bids never waits behind setting them.
Yandex Market allows 4 parallel requests per business: each process keeps at most 4 in flight per business
(a semaphore), and a client built for a brand also counts them in Redis (`SharedInFlight`), so several processes
and hosts together stay at 4.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, NotRequired

import httpx
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict  # pydantic validates typing_extensions' TypedDict on 3.11

from adolfd.clients.errors import BadResponse
from adolfd.clients.http import ApiClient
from adolfd.clients.in_flight import SharedInFlight
from adolfd.keys import YM_IN_FLIGHT
from adolfd.settings import RateLimit

if TYPE_CHECKING:
    from adolfd.engine.context import Resources

MAX_PUT_BIDS = 1500
MAX_INFO_SKUS = 500
MAX_PRICE_IDS = 500
MAX_PARALLEL = 4
ORDERS_PAGE = 200


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class YmSkuBid(TypedDict):
    """One SKU's bid (hundredths of a percent of its price), validated into a plain dict, as `YmOfferPrice`: a
    walk of the listing carries thousands (500 a page validated in ~0.17 ms so, ~0.6 ms as models)."""
    sku: str
    bid: int


class YmPaging(_Model):
    nextPageToken: str | None = None


class YmBidsInfo(_Model):
    bids: list[YmSkuBid] = Field(default_factory=list)
    paging: YmPaging | None = None


class YmBidRecommendation(_Model):
    bid: int
    showPercent: int = 0


class YmSkuRecommendation(_Model):
    sku: str
    bid: int = 0
    bidRecommendations: list[YmBidRecommendation] | None = None


class YmRecommendations(_Model):
    recommendations: list[YmSkuRecommendation] = Field(default_factory=list)


class YmPrice(TypedDict):
    value: float
    currencyId: NotRequired[str]


class YmOfferPrice(TypedDict):
    offerId: str
    price: NotRequired[YmPrice | None]


class YmOfferPrices(_Model):
    offers: list[YmOfferPrice] = Field(default_factory=list)
    paging: YmPaging | None = None


class YmOrderPrice(_Model):
    type: str = "BUYER"
    costPerItem: float = 0.0
    total: float = 0.0


class YmOrderItem(_Model):
    shopSku: str | None = None
    count: int = 0
    prices: list[YmOrderPrice] | None = None
    bidFee: int | None = None

    @property
    def buyer_total(self) -> float:
        prices = self.prices or []
        chosen = next((p for p in prices if p.type == "BUYER"), prices[0] if prices else None)
        return chosen.total if chosen else 0.0


class YmOrder(_Model):
    id: int
    creationDate: str
    status: str = ""
    items: list[YmOrderItem] = Field(default_factory=list)


class YmOrdersStats(_Model):
    orders: list[YmOrder] = Field(default_factory=list)
    paging: YmPaging | None = None


def _result(data: Any, what: str) -> Any:
    if not isinstance(data, dict) or data.get("status") != "OK":
        raise BadResponse(f"{what}: not an OK envelope: {str(data)[:120]}", api="ym")
    return data.get("result") or {}


class YmBidsClient(ApiClient):
    api = "ym"
    api_key: str = ""
    business_id: str = ""
    campaign_id: str = ""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.parallel = asyncio.Semaphore(MAX_PARALLEL)      # every request goes through it (`request`)
        self.shared_parallel: SharedInFlight | None = None   # the same cap across processes (`sending`)

    @classmethod
    def for_brand(cls, res: Resources, brand: str) -> YmBidsClient:
        creds = res.settings.account("ym", brand)
        if not creds.api_key.get_secret_value() or not creds.business_id:
            raise LookupError(f"no Yandex Market api_key/business_id configured for brand {brand!r}")
        client = cls(res.http_for(cls.api), res.paced, account=creds.business_id,
                     limits=lambda ec: res.settings.rate_limit(cls.api, ec), settings=res.settings.http)
        client.api_key = creds.api_key.get_secret_value()
        client.business_id = creds.business_id
        client.campaign_id = creds.campaign_id
        client.shared_parallel = SharedInFlight(res.redis, YM_IN_FLIGHT.format(business=creds.business_id),
                                                MAX_PARALLEL, lease_seconds=res.settings.http.timeout + 5)
        return client

    async def auth_headers(self) -> dict[str, str]:
        return {"Api-Key": self.api_key}

    def error_message(self, response: httpx.Response) -> str:
        try:
            body = response.json()
            errors = body.get("errors") or []
            text = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or str(body)[:200]
        except (ValueError, AttributeError):
            text = response.text[:200]
        return f"HTTP {response.status_code}: {text}"

    async def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        async with self.parallel:
            return await super().request(method, path, **kw)

    @contextlib.asynccontextmanager
    async def sending(self, bucket: str, limit: RateLimit) -> AsyncIterator[None]:
        """The requests-in-progress slot is taken between the rate-limit slot and the stamp of the send: a send
        that waited for room is stamped when it leaves, an interval after the last one, instead of leaving right
        after a send that was on time (two requests the marketplace would count together)."""
        await self.limiter.wait(bucket, limit)
        async with self.shared_parallel.hold() if self.shared_parallel else contextlib.nullcontext():
            await self.limiter.stamp(bucket, limit)
            yield

    # -- bids ----------------------------------------------------------------------------------------------
    async def bids_info(self, skus: Sequence[str] = ()) -> list[YmSkuBid]:
        """Bids the API campaign holds: all of them (paged), or those of `skus` (≤500 a call)."""
        path = f"/v2/businesses/{self.business_id}/bids/info"
        if skus:
            found: list[YmSkuBid] = []
            for start in range(0, len(skus), MAX_INFO_SKUS):
                data = await self.request_json("POST", path, endpoint_class="bids_info",
                                               json_body={"skus": list(skus[start:start + MAX_INFO_SKUS])})
                found.extend(self.parse(YmBidsInfo, _result(data, "bids/info"), what="bids/info").bids)
            return found
        return [bid async for page in self.bids_info_pages() for bid in page]

    async def bids_info_pages(self) -> AsyncIterator[list[YmSkuBid]]:
        """Every bid of the API campaign, one page (≤500) at a time as the API hands them out, so a caller can
        work on a page while the next one is on its way."""
        path = f"/v2/businesses/{self.business_id}/bids/info"
        token = None
        budget = self.page_budget("bids/info")
        while True:
            budget.turn()
            params: dict[str, Any] = {"limit": MAX_INFO_SKUS}
            if token:
                params["pageToken"] = token
            data = await self.request_json("POST", path, params=params, json_body={}, endpoint_class="bids_info")
            page = self.parse(YmBidsInfo, _result(data, "bids/info"), what="bids/info")
            if page.bids:
                yield page.bids
            token = page.paging.nextPageToken if page.paging else None
            if not token or not page.bids:
                return

    async def ping(self) -> None:
        data = await self.request_json("POST", f"/v2/businesses/{self.business_id}/bids/info",
                                       params={"limit": 1}, json_body={}, endpoint_class="bids_info")
        _result(data, "bids/info")

    async def put_bids(self, bids: Sequence[tuple[str, int]]) -> int:
        """Set bids `(sku, hundredths of a percent)`; 0 takes the SKU out. Returns the calls made."""
        calls = 0
        for start in range(0, len(bids), MAX_PUT_BIDS):
            chunk = bids[start:start + MAX_PUT_BIDS]
            data = await self.request_json("PUT", f"/v2/businesses/{self.business_id}/bids", endpoint_class="bids",
                                           idempotent=False,
                                           json_body={"bids": [{"sku": s, "bid": b} for s, b in chunk]})
            _result(data, "put bids")
            calls += 1
        return calls

    async def recommendations(self, skus: Sequence[str]) -> dict[str, int]:
        """The bid Yandex recommends for the largest share of shows, per SKU (hundredths of a percent)."""
        found: dict[str, int] = {}
        for start in range(0, len(skus), MAX_INFO_SKUS):
            data = await self.request_json("POST", f"/v2/businesses/{self.business_id}/bids/recommendations",
                                           endpoint_class="bids_recommendations",
                                           json_body={"skus": list(skus[start:start + MAX_INFO_SKUS])})
            reply = self.parse(YmRecommendations, _result(data, "bids/recommendations"), what="recommendations")
            for rec in reply.recommendations:
                top = max((r.bid for r in rec.bidRecommendations or []), default=rec.bid)
                found[rec.sku] = top
        return found

    async def offer_prices(self, offer_ids: Sequence[str]) -> dict[str, float]:
        """Current price (roubles) per shop SKU."""
        found: dict[str, float] = {}
        for start in range(0, len(offer_ids), MAX_PRICE_IDS):
            data = await self.request_json("POST", f"/v2/businesses/{self.business_id}/offer-prices",
                                           endpoint_class="offer_prices",
                                           json_body={"offerIds": list(offer_ids[start:start + MAX_PRICE_IDS])})
            reply = self.parse(YmOfferPrices, _result(data, "offer-prices"), what="offer-prices")
            found.update({o["offerId"]: price["value"] for o in reply.offers if (price := o.get("price")) is not None})
        return found

    # -- statistics ----------------------------------------------------------------------------------------
    async def orders_stats(self, date_from: date, date_to: date) -> list[YmOrder]:
        """Orders of the shop created in the period (200 a page); items carry the boost `bidFee`."""
        if not self.campaign_id:
            raise LookupError("Yandex Market campaign_id (shop) is not configured")
        found: list[YmOrder] = []
        token = None
        budget = self.page_budget("orders stats")
        while True:
            budget.turn()
            params: dict[str, Any] = {"limit": ORDERS_PAGE}
            if token:
                params["pageToken"] = token
            data = await self.request_json("POST", f"/v2/campaigns/{self.campaign_id}/stats/orders",
                                           endpoint_class="orders_stats", params=params, json_body={
                                               "dateFrom": date_from.isoformat(), "dateTo": date_to.isoformat()})
            page = self.parse(YmOrdersStats, _result(data, "stats/orders"), what="stats/orders")
            found.extend(page.orders)
            token = page.paging.nextPageToken if page.paging else None
            if not token or not page.orders:
                return found
