"""Wildberries promotion API (`https://advert-api.wildberries.ru`) for the marketing module (seed 002).

The seed's adapter calls map to the current methods (docs/external-apis.md "Wildberries promotion"):

| seed call | method |
| --- | --- |
| `get_campaigns` | `GET /api/advert/v2/adverts` (≤50 ids a call; replaces `POST /adv/v1/promotion/adverts`) |
| campaign ids, `ping` | `GET /adv/v1/promotion/count` |
| `get_campaign_stats`, `get_keyword_stats` | `GET /adv/v3/fullstats` (≤50 ids, 3 a minute) |
| `update_bid` | `PATCH /api/advert/v1/bids` (≤50 campaigns × ≤50 products a call, kopecks) |
| `pause_campaign` / resume | `GET /adv/v0/pause?id=`, `GET /adv/v0/start?id=` |
| `pause_keyword` / resume | `PATCH /adv/v0/auction/nms` (remove / add the product) |
| marketplace minimum | `POST /api/advert/v1/bids/min` |

WB has no keyword bids in these methods: the bid-able unit is a product (`nm_id`) in a campaign, on the
placement the campaign's bid type uses (`combined` for unified bids, `search` for manual ones).
Each method has its own token bucket per seller account, hence one endpoint class per method.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, NotRequired, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict  # pydantic validates typing_extensions' TypedDict on 3.11

from adolfd.clients.errors import BadResponse
from adolfd.clients.http import ApiClient

if TYPE_CHECKING:
    from adolfd.engine.context import Resources

MAX_IDS = 50              # adverts and fullstats: at most 50 campaign ids per call
K = TypeVar("K")
T = TypeVar("T")
MAX_BID_CAMPAIGNS = 50    # PATCH /api/advert/v1/bids: 50 campaigns …
MAX_BID_NMS = 50          # … × 50 products per campaign

STATUS_ACTIVE, STATUS_PAUSED, STATUS_READY = 9, 11, 4
STATUS_COMPLETED, STATUS_DECLINED, STATUS_DELETING = 7, 8, -1


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class WbPlacements(_Model):
    search: bool = False
    recommendations: bool = False


class WbAdvertSettings(_Model):
    name: str = ""
    payment_type: str = "cpm"
    placements: WbPlacements = Field(default_factory=WbPlacements)


class WbBidsKopecks(TypedDict):
    search: NotRequired[int]
    recommendations: NotRequired[int]


class WbNmSetting(TypedDict):
    """One product of a campaign, validated into a plain dict: a listing carries thousands (10 000 products took
    ~100 ms to validate as models, ~6 ms as typed dicts)."""
    nm_id: int
    bids_kopecks: NotRequired[WbBidsKopecks]


class WbAdvert(_Model):
    id: int
    bid_type: str = "unified"            # unified | manual
    status: int
    settings: WbAdvertSettings = Field(default_factory=WbAdvertSettings)
    nm_settings: list[WbNmSetting] | None = None

    @property
    def placement(self) -> str:
        """Where adolfd bids: `combined` for a unified bid; for a manual one the search auction, or the
        recommendations one when the campaign shows only there."""
        if self.bid_type == "unified":
            return "combined"
        placements = self.settings.placements
        return "recommendations" if placements.recommendations and not placements.search else "search"

    def bid_of(self, nm: WbNmSetting) -> int:
        return self.bids_of([nm])[0]

    def bids_of(self, products: Sequence[WbNmSetting]) -> list[int]:
        """Each product's current bid at the campaign's placement (one placement lookup for all of them)."""
        none: WbBidsKopecks = {}
        if self.placement == "recommendations":
            return [(nm.get("bids_kopecks") or none).get("recommendations", 0) for nm in products]
        return [(nm.get("bids_kopecks") or none).get("search", 0) for nm in products]


class WbAdvertRef(_Model):
    advertId: int
    changeTime: str | None = None


class WbAdvertGroup(_Model):
    type: int
    status: int
    count: int = 0
    advert_list: list[WbAdvertRef] = Field(default_factory=list)


class WbPromotionCount(_Model):
    adverts: list[WbAdvertGroup] | None = None
    all: int = 0

    def ids(self, statuses: Iterable[int]) -> list[int]:
        wanted = set(statuses)
        return [ref.advertId for g in self.adverts or [] if g.status in wanted for ref in g.advert_list]


class WbNmStats(_Model):
    nmId: int
    name: str = ""
    views: int = 0
    clicks: int = 0
    sum: float = 0.0
    orders: int = 0
    sum_price: float = 0.0


class WbAppStats(_Model):
    appType: int | None = None
    nms: list[WbNmStats] = Field(default_factory=list)


class WbDayStats(_Model):
    date: str
    views: int = 0
    clicks: int = 0
    sum: float = 0.0
    orders: int = 0
    sum_price: float = 0.0
    apps: list[WbAppStats] | None = None


class WbBoosterStat(_Model):
    date: str
    nm: int
    avg_position: float


class WbFullStats(_Model):
    advertId: int
    views: int = 0
    clicks: int = 0
    sum: float = 0.0
    orders: int = 0
    sum_price: float = 0.0
    days: list[WbDayStats] | None = None
    boosterStats: list[WbBoosterStat] | None = None


class WbNmBid(_Model):
    nm_id: int
    bid_kopecks: int
    placement: str


class WbAdvertBids(_Model):
    advert_id: int
    nm_bids: list[WbNmBid]


class WbMinBid(_Model):
    type: str
    value: int


class WbNmMinBids(_Model):
    nm_id: int
    bids: list[WbMinBid] = Field(default_factory=list)


class WbMinBidsReply(_Model):
    bids: list[WbNmMinBids] = Field(default_factory=list)


class WbAdvertClient(ApiClient):
    api = "wb_advert"

    @classmethod
    def for_brand(cls, res: Resources, brand: str) -> WbAdvertClient:
        creds = res.settings.account("wb", brand)
        client = cls(res.http_for(cls.api), res.paced, account=brand,
                     limits=lambda ec: res.settings.rate_limit(cls.api, ec), settings=res.settings.http)
        client.token = creds.token.get_secret_value()
        if not client.token:
            raise LookupError(f"no WB token configured for brand {brand!r}")
        return client

    token: str = ""

    async def auth_headers(self) -> dict[str, str]:
        return {"Authorization": self.token}

    def error_message(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return f"HTTP {response.status_code}: {response.text[:200]}"
        if isinstance(body, dict):
            text = body.get("detail") or body.get("error") or body.get("title") or body
            return f"HTTP {response.status_code}: {text}"
        return f"HTTP {response.status_code}: {str(body)[:200]}"

    # -- campaigns ---------------------------------------------------------------------------------------
    async def promotion_count(self) -> WbPromotionCount:
        """Campaign ids by type and status; also the health check (cheap, 5 rps)."""
        data = await self.request_json("GET", "/adv/v1/promotion/count", endpoint_class="count")
        return self.parse(WbPromotionCount, data, what="promotion/count reply")

    async def adverts(self, ids: Sequence[int] = (), statuses: Sequence[int] = ()) -> list[WbAdvert]:
        """Campaign settings with per-product bids; `ids` are chunked by 50."""
        if not ids:
            return await self._adverts({"statuses": ",".join(map(str, statuses))} if statuses else {})
        found: list[WbAdvert] = []
        for start in range(0, len(ids), MAX_IDS):
            params: dict[str, Any] = {"ids": ",".join(map(str, ids[start:start + MAX_IDS]))}
            if statuses:
                params["statuses"] = ",".join(map(str, statuses))
            found.extend(await self._adverts(params))
        return found

    async def _adverts(self, params: dict[str, Any]) -> list[WbAdvert]:
        data = await self.request_json("GET", "/api/advert/v2/adverts", params=params, endpoint_class="adverts")
        if not isinstance(data, dict):
            raise BadResponse(f"adverts reply: expected an object, got {type(data).__name__}", api=self.api)
        return await self.parse_items(WbAdvert, data.get("adverts") or [], what="advert")

    async def pause(self, advert_id: int) -> bool:
        """Pause an active campaign; False when WB says the status did not change (already paused)."""
        return await self._status("/adv/v0/pause", advert_id)

    async def start(self, advert_id: int) -> bool:
        return await self._status("/adv/v0/start", advert_id)

    async def _status(self, path: str, advert_id: int) -> bool:
        response = await self.request("GET", path, params={"id": advert_id}, endpoint_class="status",
                                      ok=(200, 204, 422), idempotent=False)
        return response.status_code != 422

    # -- products (the bid-able units) --------------------------------------------------------------------
    async def set_bids(self, bids: Sequence[WbAdvertBids]) -> list[int]:
        """PATCH bids, batched as WB allows (50 campaigns × 50 products a call); returns the campaigns WB
        echoed."""
        echoed: list[int] = []
        for body in bid_batches(bids):
            echoed.extend(await self.send_bid_batch(body))
        return echoed

    async def send_bid_batch(self, body: list[dict[str, Any]]) -> list[int]:
        """One PATCH of a body from `bid_batches` or `campaign_bids` (callers may send several concurrently);
        returns the campaigns WB echoed. The echo's shape is checked down to each campaign id, not each of its
        2 500 products: nothing reads them, and validating them cost as much as building the request."""
        data = await self.request_json("PATCH", "/api/advert/v1/bids", json_body={"bids": body},
                                       endpoint_class="bids", idempotent=False)
        if data is None:
            return []
        echo = data.get("bids", []) if isinstance(data, dict) else None
        if not isinstance(echo, list) or not all(isinstance(item, dict) and isinstance(item.get("advert_id"), int)
                                                 for item in echo):
            raise BadResponse(f"bids reply: unexpected answer {str(data)[:120]}", api=self.api)
        return [item["advert_id"] for item in echo]

    async def change_nms(self, advert_id: int, *, add: Sequence[int] = (), delete: Sequence[int] = ()) -> None:
        """Add or remove products of a campaign (adolfd's keyword pause/resume on WB)."""
        await self.request("PATCH", "/adv/v0/auction/nms", endpoint_class="auction_nms", idempotent=False, json_body={
            "nms": [{"advert_id": advert_id, "nms": {"add": list(add), "delete": list(delete)}}]})

    async def min_bids(self, advert_id: int, nm_ids: Sequence[int], *, payment_type: str,
                       placement: str) -> dict[int, int]:
        """Marketplace minimum bid per product, kopecks."""
        if not nm_ids:
            return {}
        kind = "recommendation" if placement == "recommendations" else placement
        data = await self.request_json("POST", "/api/advert/v1/bids/min", endpoint_class="bids_min", json_body={
            "advert_id": advert_id, "nm_ids": list(nm_ids), "payment_type": payment_type,
            "placement_types": [kind]})
        reply = self.parse(WbMinBidsReply, data, what="bids/min reply")
        return {item.nm_id: max((b.value for b in item.bids if b.type == kind), default=0) for item in reply.bids}

    # -- statistics ---------------------------------------------------------------------------------------
    async def fullstats(self, ids: Sequence[int], begin: date, end: date) -> list[WbFullStats]:
        """Per-day, per-product figures of up to 50 campaigns a call (3 calls a minute)."""
        found: list[WbFullStats] = []
        for start in range(0, len(ids), MAX_IDS):
            data = await self.request_json("GET", "/adv/v3/fullstats", endpoint_class="fullstats", params={
                "ids": ",".join(map(str, ids[start:start + MAX_IDS])),
                "beginDate": begin.isoformat(), "endDate": end.isoformat()})
            if data is not None and not isinstance(data, list):
                raise BadResponse(f"fullstats: expected a list, got {type(data).__name__}", api=self.api)
            found.extend(self.parse(WbFullStats, item, what="fullstats item") for item in data or [])
        return found


def request_slices(by_campaign: Mapping[K, Sequence[T]]) -> list[list[tuple[K, Sequence[T]]]]:
    """Each bid request's (campaign, products) parts: at most 50 campaigns × 50 products. A campaign may appear
    only once per request (WB answers "campaign is not unique"), so request k carries the k-th slice of 50
    products of each."""
    slices: list[list[tuple[K, Sequence[T]]]] = []
    for campaign, items in by_campaign.items():
        for k, start in enumerate(range(0, len(items), MAX_BID_NMS)):
            if k == len(slices):
                slices.append([])
            slices[k].append((campaign, items[start:start + MAX_BID_NMS]))
    return [part[i:i + MAX_BID_CAMPAIGNS] for part in slices for i in range(0, len(part), MAX_BID_CAMPAIGNS)]


def campaign_bids(advert_id: int, nm_bids: Iterable[tuple[int, int, str]]) -> dict[str, Any]:
    """One campaign's part of a `PATCH /api/advert/v1/bids` body from (nm_id, bid in kopecks, placement): the
    shape of `WbAdvertBids`, built without models, as a request carries 2 500 products."""
    return {"advert_id": advert_id,
            "nm_bids": [{"nm_id": nm_id, "bid_kopecks": bid, "placement": placement}
                        for nm_id, bid, placement in nm_bids]}


def bid_batches(bids: Sequence[WbAdvertBids]) -> list[list[dict[str, Any]]]:
    """Request bodies of `PATCH /api/advert/v1/bids`, sliced by `request_slices`."""
    return [[campaign_bids(advert_id, ((b.nm_id, b.bid_kopecks, b.placement) for b in nms))
             for advert_id, nms in request]
            for request in request_slices({b.advert_id: b.nm_bids for b in bids})]
