"""Ozon Performance API (`https://api-performance.ozon.ru`) for the marketing module (seed 002).

Auth is OAuth client credentials: `POST /api/client/token` gives a bearer token valid `expires_in`
(1800 s). The token is cached in Redis (shared by every worker process and host) and refreshed
`TOKEN_REFRESH_MARGIN` seconds before it expires; a 401 drops it and fetches a new one once. Only one
caller fetches at a time (a Redis lock), the others wait for its token. The token never reaches a log line.

The seed's adapter calls map to (docs/external-apis.md "Ozon Performance API"):

| seed call | method |
| --- | --- |
| `get_campaigns` | `GET /api/client/campaign?advObjectType=SKU` (pay-per-click campaigns) |
| `get_keywords` | `GET /api/client/campaign/{id}/v2/products` (paged) |
| `get_campaign_stats`, `get_keyword_stats` | `POST /api/client/statistics/products/sku` (per SKU and day) |
| `update_bid` | `PUT /api/client/campaign/{id}/products` (CPC bid per SKU, millionths of a rouble) |
| `pause_campaign` / resume | `POST /api/client/campaign/{id}/deactivate` / `activate` |
| `pause_keyword` / resume | `POST /api/client/campaign/{id}/products/delete` / `POST …/products` |
| competitor bids | `GET /api/client/campaign/{id}/products/bids/competitive` |
| marketplace minimum | `POST /api/client/min/sku` |
| `ping` | `GET /api/client/limits/list` |

Ozon Performance has no keyword (phrase) bids in the current spec: the bid-able unit is a SKU in a
campaign.
"""
from __future__ import annotations

import contextvars
import hashlib
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING

import httpx
from pydantic import BaseModel, ConfigDict, Field

from adolfd.clients.errors import AuthError, BadResponse
from adolfd.clients.http import ApiClient
from adolfd.keys import OZON_PERFORMANCE_TOKEN as TOKEN_KEY

if TYPE_CHECKING:
    from adolfd.engine.context import Resources

TOKEN_REFRESH_MARGIN = 300       # seconds before expiry a cached token is replaced
PAGE_SIZE = 100                  # products per page (spec gives no maximum)
BIDS_PER_CALL = 100              # PUT …/products items per call (spec gives no maximum)
SKUS_PER_CALL = 100

_without_auth: contextvars.ContextVar[bool] = contextvars.ContextVar("ozon_performance_without_auth",
                                                                      default=False)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class OzonToken(_Model):
    access_token: str
    expires_in: int = 1800
    token_type: str = "Bearer"


class OzonCampaign(_Model):
    id: str
    title: str = ""
    state: str = "CAMPAIGN_STATE_UNKNOWN"
    advObjectType: str = ""
    paymentType: str = ""
    dailyBudget: str | None = None
    budget: str | None = None


class OzonCampaignList(_Model):
    campaigns: list[OzonCampaign] = Field(default_factory=list, alias="list")


class OzonCampaignProduct(_Model):
    sku: str
    bid: str | None = None       # micro-roubles, only for the "average click cost" strategy
    title: str = ""


class OzonProductsReply(_Model):
    products: list[OzonCampaignProduct] = Field(default_factory=list)


class OzonSkuStatRow(_Model):
    campaignId: str
    sku: str
    date: str
    views: str | int = "0"
    clicks: str | int = "0"
    expense: str | float = "0"
    orders: str | int = "0"
    sales: str | float = "0"


class OzonSkuStats(_Model):
    rows: list[OzonSkuStatRow] = Field(default_factory=list)


class OzonCompetitiveBid(_Model):
    sku: str
    bid: str


class OzonCompetitiveBids(_Model):
    campaignId: str | None = None
    bids: list[OzonCompetitiveBid] = Field(default_factory=list)


class OzonMinBid(_Model):
    sku: str
    bid: float


class OzonMinBids(_Model):
    minBids: list[OzonMinBid] = Field(default_factory=list)


class OzonLimits(_Model):
    limits: list[dict] = Field(default_factory=list)


class OzonPerformanceClient(ApiClient):
    api = "ozon_performance"
    client_id: str = ""
    _secret: str = ""

    @classmethod
    def for_brand(cls, res: Resources, brand: str) -> OzonPerformanceClient:
        creds = res.settings.account("ozon_performance", brand)
        if not creds.client_id or not creds.client_secret.get_secret_value():
            raise LookupError(f"no Ozon Performance client_id/client_secret for brand {brand!r}")
        client = cls(res.http_for(cls.api), res.paced, account=brand,
                     limits=lambda ec: res.settings.rate_limit(cls.api, ec), settings=res.settings.http)
        client.bind_credentials(res.redis, creds.client_id, creds.client_secret.get_secret_value())
        return client

    def bind_credentials(self, redis, client_id: str, client_secret: str) -> None:
        self.redis = redis
        self.client_id = client_id
        self._secret = client_secret
        self._token: str | None = None
        self._token_until = 0.0
        self._token_key = TOKEN_KEY + hashlib.sha256(client_id.encode()).hexdigest()[:24]

    # -- auth --------------------------------------------------------------------------------------------
    async def auth_headers(self) -> dict[str, str]:
        if _without_auth.get():
            return {}
        return {"Authorization": f"Bearer {await self.token()}"}

    async def on_auth_failure(self) -> bool:
        await self.forget_token()
        return True

    async def forget_token(self) -> None:
        self._token, self._token_until = None, 0.0
        await self.redis.delete(self._token_key)

    async def token(self) -> str:
        """A valid bearer token: this process's copy, else the shared one in Redis, else a new one."""
        if self._token and time.monotonic() < self._token_until:
            return self._token
        if (cached := await self._load_cached()) is not None:
            return cached
        async with self.redis.lock(self._token_key + ":lock", timeout=60, blocking_timeout=90):
            if (cached := await self._load_cached()) is not None:      # another process fetched it meanwhile
                return cached
            fresh = await self._fetch_token()
            ttl = max(fresh.expires_in - TOKEN_REFRESH_MARGIN, 1)
            await self.redis.set(self._token_key, fresh.access_token, ex=ttl)
            self._token, self._token_until = fresh.access_token, time.monotonic() + ttl
            return fresh.access_token

    async def _load_cached(self) -> str | None:
        """The shared token from Redis, kept as this process's copy; None when there is none."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(self._token_key)
        pipe.ttl(self._token_key)
        value, ttl = await pipe.execute()
        if not value or ttl is None or ttl <= 0:
            return None
        token: str = value.decode() if isinstance(value, bytes) else value
        self._token, self._token_until = token, time.monotonic() + ttl
        return token

    async def _fetch_token(self) -> OzonToken:
        reset = _without_auth.set(True)
        try:
            data = await self.request_json("POST", "/api/client/token", endpoint_class="token", json_body={
                "client_id": self.client_id, "client_secret": self._secret, "grant_type": "client_credentials"},
                headers={"Accept": "application/json"})
        except AuthError as exc:
            raise AuthError(f"token refused for client {self.client_id}: {exc}", api=self.api,
                            status=exc.status) from None
        finally:
            _without_auth.reset(reset)
        token = self.parse(OzonToken, data, what="token reply")
        if not token.access_token:
            raise BadResponse("token reply without access_token", api=self.api)
        return token

    def error_message(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return f"HTTP {response.status_code}: {response.text[:200]}"
        text = body.get("error") or body.get("message") if isinstance(body, dict) else None
        return f"HTTP {response.status_code}: {text or str(body)[:200]}"

    # -- campaigns ---------------------------------------------------------------------------------------
    async def campaigns(self, adv_object_type: str = "SKU", ids: Sequence[str] = ()) -> list[OzonCampaign]:
        params: list[tuple[str, str]] = [("advObjectType", adv_object_type)]
        params += [("campaignIds", str(i)) for i in ids]
        data = await self.request_json("GET", "/api/client/campaign", params=params)
        return self.parse(OzonCampaignList, data, what="campaign list").campaigns

    async def activate(self, campaign_id: str) -> OzonCampaign:
        return await self._switch(campaign_id, "activate")

    async def deactivate(self, campaign_id: str) -> OzonCampaign:
        return await self._switch(campaign_id, "deactivate")

    async def _switch(self, campaign_id: str, action: str) -> OzonCampaign:
        data = await self.request_json("POST", f"/api/client/campaign/{campaign_id}/{action}",
                                       json_body={"campaignId": str(campaign_id)}, idempotent=False)
        return self.parse(OzonCampaign, data, what=f"{action} reply")

    async def limits(self) -> OzonLimits:
        """The health check: cheap, read-only."""
        data = await self.request_json("GET", "/api/client/limits/list")
        return self.parse(OzonLimits, data, what="limits reply")

    # -- products (the bid-able units) --------------------------------------------------------------------
    async def products(self, campaign_id: str, on_page: Callable[[], None] | None = None,
                       ) -> list[OzonCampaignProduct]:
        """Every SKU of a campaign, page by page (`on_page` is told of each request)."""
        found: list[OzonCampaignProduct] = []
        page = 1
        while True:
            if on_page is not None:
                on_page()
            data = await self.request_json("GET", f"/api/client/campaign/{campaign_id}/v2/products",
                                           params={"page": page, "pageSize": PAGE_SIZE})
            batch = self.parse(OzonProductsReply, data, what="products page").products
            found.extend(batch)
            if len(batch) < PAGE_SIZE:
                return found
            page += 1

    async def set_bids(self, campaign_id: str, bids: Sequence[tuple[str, str]]) -> int:
        """CPC bids `(sku, micro-roubles)`, 100 a call; returns the number of calls made."""
        calls = 0
        for start in range(0, len(bids), BIDS_PER_CALL):
            chunk = bids[start:start + BIDS_PER_CALL]
            data = await self.request_json("PUT", f"/api/client/campaign/{campaign_id}/products", idempotent=False,
                                           json_body={"bids": [{"sku": sku, "bid": bid} for sku, bid in chunk]})
            if data is not None and not isinstance(data, dict):     # a 200 whose body is no answer of Ozon's
                raise BadResponse(f"bids of campaign {campaign_id}: unexpected answer {str(data)[:120]}",
                                  api=self.api)
            calls += 1
        return calls

    async def add_products(self, campaign_id: str, bids: Sequence[tuple[str, str]]) -> None:
        """Put SKUs back into a campaign with their bids (adolfd's keyword resume)."""
        await self.request("POST", f"/api/client/campaign/{campaign_id}/products", idempotent=False,
                           json_body={"bids": [{"sku": sku, "bid": bid} for sku, bid in bids]})

    async def remove_products(self, campaign_id: str, skus: Sequence[str]) -> None:
        """Take SKUs out of a campaign (adolfd's keyword pause)."""
        await self.request("POST", f"/api/client/campaign/{campaign_id}/products/delete", idempotent=False,
                           json_body={"sku": [str(s) for s in skus]})

    async def competitive_bids(self, campaign_id: str, skus: Sequence[str]) -> dict[str, str]:
        """The competitors' bid per SKU as Ozon reports it (micro-roubles)."""
        found: dict[str, str] = {}
        for start in range(0, len(skus), SKUS_PER_CALL):
            params = [("skus", str(s)) for s in skus[start:start + SKUS_PER_CALL]]
            data = await self.request_json("GET", f"/api/client/campaign/{campaign_id}/products/bids/competitive",
                                           params=params)
            found.update({b.sku: b.bid for b in self.parse(OzonCompetitiveBids, data, what="competitive bids").bids})
        return found

    async def min_bids(self, skus: Sequence[str]) -> dict[str, float]:
        """Minimum CPC bid per SKU, roubles (the reply's `bid` is a double; unit UNCONFIRMED, see docs)."""
        found: dict[str, float] = {}
        for start in range(0, len(skus), SKUS_PER_CALL):
            data = await self.request_json("POST", "/api/client/min/sku", json_body={
                "paymentType": "CPC", "sku": [str(s) for s in skus[start:start + SKUS_PER_CALL]]})
            found.update({b.sku: b.bid for b in self.parse(OzonMinBids, data, what="min bids").minBids})
        return found

    # -- statistics ---------------------------------------------------------------------------------------
    async def sku_stats(self, campaign_ids: Sequence[str], date_from: date, date_to: date) -> list[OzonSkuStatRow]:
        """Per campaign, SKU and day: views, clicks, expense, orders, sales (roubles as text)."""
        rows: list[OzonSkuStatRow] = []
        for start in range(0, len(campaign_ids), SKUS_PER_CALL):
            data = await self.request_json("POST", "/api/client/statistics/products/sku", endpoint_class="stats",
                                           json_body={"campaignIds": [str(c) for c in campaign_ids[start:start + 100]],
                                                      "dateFrom": date_from.isoformat(),
                                                      "dateTo": date_to.isoformat()})
            rows.extend(self.parse(OzonSkuStats, data, what="products/sku statistics").rows)
        return rows
