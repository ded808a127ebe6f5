"""Ozon Seller API client (`https://api-seller.ozon.ru`): the calls the Logistic jobs make (seed 000 §8.4.1–8.4.3).

Auth is `Client-Id` + `Api-Key` on every call; every method is a POST with a JSON body. Current endpoints
stand in for the seed's retired ones (docs/external-apis.md "Ozon Seller API"):

- `/v1/analytics/stocks` for `/v1/analytics/stock_on_warehouses` (FBO stock per warehouse and cluster,
  ≤ 100 SKUs per call, no paging);
- `/v1/analytics/data` for the seed's ordered-units analytics (1 request per minute per Client-Id);
- `/v1/cluster/list` for `/v1/warehouse/list` (FBO clusters; v1 warehouse/list was disabled on 2026-04-07);
- `/v3/product/list` + `/v3/product/info/list` for the catalogue (seller article = `offer_id` ↔ `sku`).

Rate limits and retries are the shared ones of `ApiClient`; endpoint classes name the per-method limits.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from adolfd.clients.errors import BadResponse
from adolfd.clients.http import ApiClient
from adolfd.settings import ApiCredentials

if TYPE_CHECKING:
    from adolfd.engine.context import Resources

STOCKS_BATCH = 100          # /v1/analytics/stocks: skus, max 100
INFO_BATCH = 1000           # /v3/product/info/list: ≤ 1000 identifiers
PAGE = 1000                 # /v3/product/list and /v1/analytics/data: limit ≤ 1000


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ProductRef(_Reply):
    product_id: int
    offer_id: str


class _ProductListResult(_Reply):
    items: list[ProductRef] = Field(default_factory=list)
    total: int = 0
    last_id: str = ""


class ProductListReply(_Reply):
    result: _ProductListResult


class ProductInfo(_Reply):
    id: int
    offer_id: str
    sku: int = 0
    name: str = ""


class ProductInfoReply(_Reply):
    items: list[ProductInfo] = Field(default_factory=list)


class StockItem(_Reply):
    """One row of /v1/analytics/stocks: an SKU at one FBO warehouse, with Ozon's cluster-level figures."""

    sku: int
    offer_id: str = ""
    warehouse_id: int = 0
    cluster_id: int
    cluster_name: str = ""
    available_stock_count: int = 0
    transit_stock_count: int = 0
    ads_cluster: float = 0.0            # average daily sales in the cluster, last 28 days
    idc_cluster: float = 0.0            # days the cluster's stock lasts
    turnover_grade_cluster: str = ""


class StocksReply(_Reply):
    items: list[StockItem] = Field(default_factory=list)


class _Dimension(_Reply):
    id: str
    name: str = ""


class AnalyticsRow(_Reply):
    dimensions: list[_Dimension]
    metrics: list[float]


class _AnalyticsResult(_Reply):
    data: list[AnalyticsRow] = Field(default_factory=list)
    totals: list[float] = Field(default_factory=list)


class AnalyticsReply(_Reply):
    result: _AnalyticsResult


class ClusterWarehouse(_Reply):
    warehouse_id: int
    name: str = ""
    type: str = ""


class _LogisticCluster(_Reply):
    warehouses: list[ClusterWarehouse] = Field(default_factory=list)


class ClusterInfo(_Reply):
    id: int
    name: str
    type: str = ""
    macrolocal_cluster_id: int | None = None
    logistic_clusters: list[_LogisticCluster] = Field(default_factory=list)

    @property
    def warehouses(self) -> list[ClusterWarehouse]:
        return [w for lc in self.logistic_clusters for w in lc.warehouses]


class ClusterListReply(_Reply):
    clusters: list[ClusterInfo] = Field(default_factory=list)


def _batches(values: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


class OzonSellerClient(ApiClient):
    api = "ozon_seller"

    def __init__(self, *args: Any, creds: ApiCredentials, **kw: Any) -> None:
        """`creds` is the account's (client_id, api_key): required here, so a client without them cannot exist."""
        if not creds.client_id or not creds.api_key.get_secret_value():
            raise LookupError(f"ozon_seller credentials need client_id and api_key (account {creds.client_id!r})")
        super().__init__(*args, **kw)
        self.creds = creds

    @classmethod
    def for_brand(cls, res: Resources, brand: str) -> OzonSellerClient:
        creds = res.settings.account("ozon_seller", brand)       # LookupError if not configured
        if not creds.client_id or not creds.api_key.get_secret_value():
            raise LookupError(f"ozon_seller credentials of brand {brand!r} need client_id and api_key")
        return cls(res.http_for(cls.api), res.limiter, account=creds.client_id, creds=creds,
                   limits=lambda ec: res.settings.rate_limit(cls.api, ec), settings=res.settings.http)

    async def auth_headers(self) -> dict[str, str]:
        return {"Client-Id": self.creds.client_id, "Api-Key": self.creds.api_key.get_secret_value()}

    def error_message(self, response: httpx.Response) -> str:
        """Ozon's error body is rpcStatus `{code, message, details}`."""
        try:
            body = response.json()
            message = body.get("message") if isinstance(body, dict) else None
        except ValueError:
            message = None
        return f"HTTP {response.status_code}: {message or response.text[:300]}"

    # -- catalogue ----------------------------------------------------------------------------------------
    async def products(self) -> list[ProductInfo]:
        """Every product of the account with its SKU (products without an SKU yet are left out)."""
        refs: list[ProductRef] = []
        last_id = ""
        budget = self.page_budget("product/list")
        while True:
            budget.turn()
            data = await self.request_json("POST", "/v3/product/list", endpoint_class="product_list", json_body={
                "filter": {"visibility": "ALL"}, "last_id": last_id, "limit": PAGE})
            page = self.parse(ProductListReply, data, what="product/list reply").result
            refs.extend(page.items)
            if len(page.items) < PAGE or not page.last_id:
                break
            last_id = page.last_id
        infos: list[ProductInfo] = []
        for batch in _batches([r.product_id for r in refs], INFO_BATCH):
            data = await self.request_json("POST", "/v3/product/info/list", endpoint_class="product_info",
                                           json_body={"product_id": [str(p) for p in batch]})
            infos.extend(self.parse(ProductInfoReply, data, what="product/info/list reply").items)
        return [p for p in infos if p.sku]

    # -- FBO stock ------------------------------------------------------------------------------------------
    async def stocks(self, skus: Iterable[int]) -> list[StockItem]:
        """FBO stock rows of these SKUs, all warehouses and clusters (batches of 100)."""
        items: list[StockItem] = []
        for batch in _batches(sorted(set(skus)), STOCKS_BATCH):
            data = await self.request_json("POST", "/v1/analytics/stocks", endpoint_class="analytics_stocks",
                                           json_body={"skus": [str(s) for s in batch]})
            items.extend(self.parse(StocksReply, data, what="analytics/stocks reply").items)
        return items

    # -- analytics ------------------------------------------------------------------------------------------
    async def ordered_units(self, date_from: date, date_to: date) -> dict[int, int]:
        """Ordered units per SKU over date_from..date_to inclusive; SKUs without orders are absent."""
        units: dict[int, int] = {}
        offset = 0
        budget = self.page_budget("analytics/data")
        while True:
            budget.turn()
            data = await self.request_json("POST", "/v1/analytics/data", endpoint_class="analytics_data", json_body={
                "date_from": date_from.isoformat(), "date_to": date_to.isoformat(),
                "metrics": ["ordered_units"], "dimension": ["sku"], "limit": PAGE, "offset": offset})
            rows = self.parse(AnalyticsReply, data, what="analytics/data reply").result.data
            for row in rows:
                if not row.dimensions or not row.metrics:
                    continue
                try:
                    sku = int(row.dimensions[0].id)
                except ValueError:
                    raise BadResponse(f"analytics/data: sku dimension {row.dimensions[0].id!r} is not an SKU",
                                      api=self.api) from None
                units[sku] = units.get(sku, 0) + round(row.metrics[0])
            if len(rows) < PAGE:
                return units
            offset += PAGE

    # -- clusters -------------------------------------------------------------------------------------------
    async def clusters(self, cluster_type: str = "CLUSTER_TYPE_OZON") -> list[ClusterInfo]:
        data = await self.request_json("POST", "/v1/cluster/list", endpoint_class="cluster_list",
                                       json_body={"cluster_type": cluster_type})
        return self.parse(ClusterListReply, data, what="cluster/list reply").clusters


__all__ = ["AnalyticsReply", "ClusterInfo", "OzonSellerClient", "ProductInfo", "StockItem"]
