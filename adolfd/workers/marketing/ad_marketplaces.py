"""One advertising account seen the same way on every marketplace (seed 002 §7.3.1 `get_adapter`).

The bid cycle, stats collection, budgets and sync speak to `AdAccount`: campaigns, their bid-able units
with current bids, per-day figures, bid orders, pauses. Each marketplace's adapter turns its own API
(`adolfd.clients.wb_advert`, `ozon_performance`, `ym_bids`) into these shapes, all money in kopecks:

- Wildberries: a unit is a product (`nm_id`) in a campaign on the campaign's placement; unit figures are the
  product's over all placements and platforms of `fullstats`; a unit pause takes the product out of the
  campaign (`auction/nms`), a resume puts it back and restores its bid.
- Ozon Performance: a unit is a SKU in a CPC campaign; a unit pause removes the SKU, a resume adds it back
  with its bid. Campaign figures are the sums of the SKU rows.
- Yandex Market: one boost campaign per business (external id = business id); a unit is a shop SKU whose bid
  is a share of its price, converted with the current price; a pause sets the bid to 0, a campaign pause does
  so for every SKU; figures come from the shop's orders that carry a `bidFee` (no views or clicks exist).

Requests inside one call are sent concurrently (at most `in_flight` at a time); the shared rate limiter
spaces them, so a large account is covered as fast as the marketplace allows.
"""
from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from adolfd.clients.ozon_performance import BIDS_PER_CALL, OzonPerformanceClient
from adolfd.clients.wb_advert import (
    STATUS_ACTIVE, STATUS_PAUSED, WbAdvert, WbAdvertBids, WbAdvertClient, WbNmBid, bid_batches,
)
from adolfd.clients.ym_bids import MAX_PUT_BIDS, YmBidsClient
from adolfd.domain.marketing.ad_money import (
    kopecks_to_ozon_micros, kopecks_to_ym_bid, ozon_micros_to_kopecks, parse_roubles, rouble, ym_bid_to_kopecks,
)

if TYPE_CHECKING:
    from adolfd.engine.context import Ctx

MARKETPLACES = ("wb", "ozon", "ym")
T = TypeVar("T")


@dataclass(frozen=True)
class MpCampaign:
    external_id: str
    name: str
    mp_status: str
    active: bool
    archived: bool = False
    bid_type: str | None = None
    payment_type: str | None = None


@dataclass(frozen=True)
class MpUnit:
    external_id: str
    label: str
    bid: int                           # kopecks
    placement: str | None = None
    price: int | None = None           # kopecks (YM)


@dataclass(frozen=True)
class MpDay:
    """A campaign's (unit_id None) or a unit's figures for one day so far."""

    campaign_id: str
    unit_id: str | None
    day: date
    views: int = 0
    clicks: int = 0
    spent: int = 0                     # kopecks
    orders: int = 0
    revenue: int = 0                   # kopecks
    avg_position: Decimal | None = None


@dataclass(frozen=True)
class BidOrder:
    campaign_id: str
    unit_id: str
    bid: int                           # kopecks
    placement: str | None = None
    price: int | None = None           # kopecks (YM)


@dataclass
class BidBatch:
    """One request's worth of bid orders and how it ended (None = applied)."""

    orders: list[BidOrder]
    error: Exception | None = None


@dataclass
class Calls:
    """How many requests an operation took (the bid cycle's summary and the benchmark read it)."""

    count: int = 0


class AdAccount(Protocol):
    marketplace: str
    brand: str
    calls: Calls
    sends_per_campaign: bool          # False: one bid request carries many campaigns (WB), send them together

    async def campaigns(self) -> list[MpCampaign]: ...
    async def units(self, campaign_ids: Sequence[str]) -> dict[str, list[MpUnit]]: ...
    async def stats(self, campaign_ids: Sequence[str], first: date, last: date) -> list[MpDay]: ...
    async def set_bids(self, orders: Sequence[BidOrder]) -> list[BidBatch]: ...
    async def pause_campaign(self, campaign_id: str, units: Sequence[BidOrder] = ()) -> None: ...
    async def resume_campaign(self, campaign_id: str, units: Sequence[BidOrder] = ()) -> None: ...
    async def pause_units(self, campaign_id: str, unit_ids: Sequence[str]) -> None: ...
    async def resume_units(self, campaign_id: str, orders: Sequence[BidOrder]) -> None: ...
    async def min_bids(self, campaign: MpCampaign, unit_ids: Sequence[str]) -> dict[str, int]: ...
    async def competitor_bids(self, campaign_id: str, unit_ids: Sequence[str]) -> dict[str, int]: ...
    async def ping(self) -> None: ...


async def gather_limited(limit: int, jobs: Iterable[Awaitable[T]]) -> list[T]:
    """Run awaitables concurrently, at most `limit` at a time, results in order."""
    gate = asyncio.Semaphore(max(limit, 1))

    async def one(job: Awaitable[T]) -> T:
        async with gate:
            return await job

    return list(await asyncio.gather(*(one(j) for j in jobs)))


async def run_batches(limit: int, calls: Calls, batches: Sequence[tuple[list[BidOrder], Awaitable[Any]]],
                      ) -> list[BidBatch]:
    """Send bid requests concurrently; one failing request fails only its own orders."""
    async def one(orders: list[BidOrder], job: Awaitable[Any]) -> BidBatch:
        calls.count += 1
        try:
            await job
        except Exception as exc:  # noqa: BLE001 — reported per batch to the caller, which records it
            return BidBatch(orders, exc)
        return BidBatch(orders)

    return await gather_limited(limit, (one(orders, job) for orders, job in batches))


async def _raise_first(batches: list[BidBatch]) -> None:
    for batch in batches:
        if batch.error is not None:
            raise batch.error


def _kopecks_of(value: Any) -> int:
    return parse_roubles(value if isinstance(value, str) else str(value))


# -- Wildberries --------------------------------------------------------------------------------------

class WbAds:
    marketplace = "wb"
    sends_per_campaign = False

    def __init__(self, client: WbAdvertClient, brand: str, in_flight: int) -> None:
        self.client, self.brand, self.in_flight = client, brand, in_flight
        self.calls = Calls()
        self._adverts: dict[str, WbAdvert] = {}

    async def _call(self, job: Awaitable[T]) -> T:
        self.calls.count += 1
        return await job

    async def campaigns(self) -> list[MpCampaign]:
        ids = (await self._call(self.client.promotion_count())).ids([STATUS_ACTIVE, STATUS_PAUSED])
        adverts = await self._load(ids)
        return [MpCampaign(str(a.id), a.settings.name, str(a.status), a.status == STATUS_ACTIVE,
                           archived=a.status in (7, 8, -1), bid_type=a.bid_type,
                           payment_type=a.settings.payment_type) for a in adverts]

    async def _load(self, ids: Sequence[int]) -> list[WbAdvert]:
        chunks = [ids[i:i + 50] for i in range(0, len(ids), 50)]
        found = await gather_limited(self.in_flight, (self._call(self.client.adverts(c)) for c in chunks))
        adverts = [a for part in found for a in part]
        self._adverts.update({str(a.id): a for a in adverts})
        return adverts

    async def units(self, campaign_ids: Sequence[str]) -> dict[str, list[MpUnit]]:
        missing = [int(c) for c in campaign_ids if c not in self._adverts]
        if missing:
            await self._load(missing)
        result: dict[str, list[MpUnit]] = {}
        for cid in campaign_ids:
            advert = self._adverts.get(cid)
            if advert is None:
                continue
            result[cid] = [MpUnit(str(nm.nm_id), str(nm.nm_id), advert.bid_of(nm), advert.placement)
                           for nm in advert.nm_settings or []]
        return result

    async def stats(self, campaign_ids: Sequence[str], first: date, last: date) -> list[MpDay]:
        ids = [int(c) for c in campaign_ids]
        items = await self._call(self.client.fullstats(ids, first, last)) if ids else []
        days: list[MpDay] = []
        for item in items:
            cid = str(item.advertId)
            positions: dict[tuple[str, str], int] = {(b.date[:10], str(b.nm)): b.avg_position
                                                     for b in item.boosterStats or []}
            for d in item.days or []:
                day = date.fromisoformat(d.date[:10])
                days.append(MpDay(cid, None, day, d.views, d.clicks, _kopecks_of(d.sum), d.orders,
                                  _kopecks_of(d.sum_price)))
                per_nm: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
                for app in d.apps or []:
                    for nm in app.nms:
                        acc = per_nm[str(nm.nmId)]
                        acc[0] += nm.views
                        acc[1] += nm.clicks
                        acc[2] += _kopecks_of(nm.sum)
                        acc[3] += nm.orders
                        acc[4] += _kopecks_of(nm.sum_price)
                for nm_id, (views, clicks, spent, orders, revenue) in per_nm.items():
                    pos = positions.get((day.isoformat(), nm_id))
                    days.append(MpDay(cid, nm_id, day, views, clicks, spent, orders, revenue,
                                      Decimal(str(pos)) if pos is not None else None))
        return days

    async def set_bids(self, orders: Sequence[BidOrder]) -> list[BidBatch]:
        by_campaign: dict[str, list[WbNmBid]] = defaultdict(list)
        index: dict[tuple[int, int], BidOrder] = {}
        for o in orders:
            by_campaign[o.campaign_id].append(WbNmBid(nm_id=int(o.unit_id), bid_kopecks=o.bid,
                                                      placement=o.placement or "combined"))
            index[(int(o.campaign_id), int(o.unit_id))] = o
        bodies = bid_batches([WbAdvertBids(advert_id=int(c), nm_bids=nms) for c, nms in by_campaign.items()])
        batches = [([index[(part["advert_id"], nb["nm_id"])] for part in body for nb in part["nm_bids"]],
                    self.client.send_bid_batch(body)) for body in bodies]
        return await run_batches(self.in_flight, self.calls, batches)

    async def pause_campaign(self, campaign_id: str, units: Sequence[BidOrder] = ()) -> None:
        await self._call(self.client.pause(int(campaign_id)))

    async def resume_campaign(self, campaign_id: str, units: Sequence[BidOrder] = ()) -> None:
        await self._call(self.client.start(int(campaign_id)))

    async def pause_units(self, campaign_id: str, unit_ids: Sequence[str]) -> None:
        if unit_ids:
            await self._call(self.client.change_nms(int(campaign_id), delete=[int(u) for u in unit_ids]))

    async def resume_units(self, campaign_id: str, orders: Sequence[BidOrder]) -> None:
        if orders:
            await self._call(self.client.change_nms(int(campaign_id), add=[int(o.unit_id) for o in orders]))
            await _raise_first(await self.set_bids(orders))

    async def min_bids(self, campaign: MpCampaign, unit_ids: Sequence[str]) -> dict[str, int]:
        advert = self._adverts.get(campaign.external_id)
        placement = advert.placement if advert else "combined"
        found = await self._call(self.client.min_bids(int(campaign.external_id), [int(u) for u in unit_ids],
                                                      payment_type=campaign.payment_type or "cpm",
                                                      placement=placement))
        return {str(k): v for k, v in found.items()}

    async def competitor_bids(self, campaign_id: str, unit_ids: Sequence[str]) -> dict[str, int]:
        return {}                      # WB publishes no competitor bids in these methods

    async def ping(self) -> None:
        await self._call(self.client.promotion_count())


# -- Ozon Performance ---------------------------------------------------------------------------------

class OzonAds:
    marketplace = "ozon"
    sends_per_campaign = True

    def __init__(self, client: OzonPerformanceClient, brand: str, in_flight: int) -> None:
        self.client, self.brand, self.in_flight = client, brand, in_flight
        self.calls = Calls()

    async def _call(self, job: Awaitable[T]) -> T:
        self.calls.count += 1
        return await job

    async def campaigns(self) -> list[MpCampaign]:
        found = await self._call(self.client.campaigns("SKU"))
        return [MpCampaign(c.id, c.title, c.state, c.state == "CAMPAIGN_STATE_RUNNING",
                           archived=c.state in ("CAMPAIGN_STATE_ARCHIVED", "CAMPAIGN_STATE_FINISHED"),
                           payment_type=c.paymentType or "CPC") for c in found]

    async def units(self, campaign_ids: Sequence[str]) -> dict[str, list[MpUnit]]:
        async def one(cid: str) -> tuple[str, list[MpUnit]]:
            products = await self.client.products(cid, on_page=self._count_page)
            return cid, [MpUnit(p.sku, p.title or p.sku, ozon_micros_to_kopecks(p.bid or "0")) for p in products]
        return dict(await gather_limited(self.in_flight, (one(c) for c in campaign_ids)))

    def _count_page(self) -> None:
        self.calls.count += 1

    async def stats(self, campaign_ids: Sequence[str], first: date, last: date) -> list[MpDay]:
        rows = await self._call(self.client.sku_stats(list(campaign_ids), first, last)) if campaign_ids else []
        days: list[MpDay] = []
        totals: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
        for r in rows:
            day = date.fromisoformat(r.date[:10])
            figures = [int(r.views), int(r.clicks), _kopecks_of(r.expense), int(r.orders), _kopecks_of(r.sales)]
            days.append(MpDay(r.campaignId, r.sku, day, *figures))
            acc = totals[(r.campaignId, day)]
            for i, v in enumerate(figures):
                acc[i] += v
        days.extend(MpDay(cid, None, day, *acc) for (cid, day), acc in totals.items())
        return days

    async def set_bids(self, orders: Sequence[BidOrder]) -> list[BidBatch]:
        by_campaign: dict[str, list[BidOrder]] = defaultdict(list)
        for o in orders:
            by_campaign[o.campaign_id].append(o)
        batches = []
        for cid, items in by_campaign.items():
            for i in range(0, len(items), BIDS_PER_CALL):
                chunk = items[i:i + BIDS_PER_CALL]
                batches.append((chunk, self.client.set_bids(
                    cid, [(o.unit_id, kopecks_to_ozon_micros(o.bid)) for o in chunk])))
        return await run_batches(self.in_flight, self.calls, batches)

    async def pause_campaign(self, campaign_id: str, units: Sequence[BidOrder] = ()) -> None:
        await self._call(self.client.deactivate(campaign_id))

    async def resume_campaign(self, campaign_id: str, units: Sequence[BidOrder] = ()) -> None:
        await self._call(self.client.activate(campaign_id))

    async def pause_units(self, campaign_id: str, unit_ids: Sequence[str]) -> None:
        if unit_ids:
            await self._call(self.client.remove_products(campaign_id, list(unit_ids)))

    async def resume_units(self, campaign_id: str, orders: Sequence[BidOrder]) -> None:
        if orders:
            await self._call(self.client.add_products(
                campaign_id, [(o.unit_id, kopecks_to_ozon_micros(o.bid)) for o in orders]))

    async def min_bids(self, campaign: MpCampaign, unit_ids: Sequence[str]) -> dict[str, int]:
        found = await self._call(self.client.min_bids(list(unit_ids)))
        return {sku: rouble(Decimal(str(value))) for sku, value in found.items()}

    async def competitor_bids(self, campaign_id: str, unit_ids: Sequence[str]) -> dict[str, int]:
        found = await self._call(self.client.competitive_bids(campaign_id, list(unit_ids)))
        return {sku: ozon_micros_to_kopecks(bid) for sku, bid in found.items()}

    async def ping(self) -> None:
        await self._call(self.client.limits())


# -- Yandex Market ------------------------------------------------------------------------------------

class YmAds:
    marketplace = "ym"
    sends_per_campaign = True

    def __init__(self, client: YmBidsClient, brand: str, in_flight: int) -> None:
        self.client, self.brand, self.in_flight = client, brand, in_flight
        self.calls = Calls()
        self._units: list[MpUnit] | None = None

    async def _call(self, job: Awaitable[T]) -> T:
        self.calls.count += 1
        return await job

    @property
    def campaign_id(self) -> str:
        return str(self.client.business_id)

    async def campaigns(self) -> list[MpCampaign]:
        units = await self._load()
        return [MpCampaign(self.campaign_id, "Буст продаж (API)", "api_boost", bool(units))]

    async def _load(self) -> list[MpUnit]:
        if self._units is None:
            bids = await self._call(self.client.bids_info())
            skus = [b.sku for b in bids]
            chunks = [skus[i:i + 500] for i in range(0, len(skus), 500)]
            prices: dict[str, float] = {}
            for part in await gather_limited(self.in_flight, (self._call(self.client.offer_prices(c)) for c in chunks)):
                prices.update(part)
            units = []
            for b in bids:
                price = rouble(Decimal(str(prices[b.sku]))) if b.sku in prices else None
                bid = ym_bid_to_kopecks(b.bid, price) if price else 0
                units.append(MpUnit(b.sku, b.sku, bid, None, price))
            self._units = units
        return self._units

    async def units(self, campaign_ids: Sequence[str]) -> dict[str, list[MpUnit]]:
        if self.campaign_id not in campaign_ids:
            return {}
        return {self.campaign_id: list(await self._load())}

    async def stats(self, campaign_ids: Sequence[str], first: date, last: date) -> list[MpDay]:
        if self.campaign_id not in campaign_ids:
            return []
        orders = await self._call(self.client.orders_stats(first, last))
        per_unit: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0, 0])
        for order in orders:
            day = date.fromisoformat(order.creationDate[:10])
            for item in order.items:
                if not item.bidFee or not item.shopSku:
                    continue            # not a boosted sale
                revenue = rouble(Decimal(str(item.buyer_total)))
                acc = per_unit[(item.shopSku, day)]
                acc[0] += revenue * item.bidFee // 10_000
                acc[1] += 1
                acc[2] += revenue
        days: list[MpDay] = []
        totals: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
        for (sku, day), (spent, count, revenue) in per_unit.items():
            days.append(MpDay(self.campaign_id, sku, day, 0, 0, spent, count, revenue))
            for i, v in enumerate((spent, count, revenue)):
                totals[day][i] += v
        days.extend(MpDay(self.campaign_id, None, day, 0, 0, s, n, r) for day, (s, n, r) in totals.items())
        return days

    def _ym_bids(self, orders: Sequence[BidOrder]) -> list[tuple[str, int]]:
        out = []
        for o in orders:
            if not o.price:
                raise ValueError(f"YM SKU {o.unit_id}: no price known, cannot turn a rouble bid into a share")
            out.append((o.unit_id, kopecks_to_ym_bid(o.bid, o.price)))
        return out

    async def set_bids(self, orders: Sequence[BidOrder]) -> list[BidBatch]:
        batches = []
        for i in range(0, len(orders), MAX_PUT_BIDS):
            chunk = list(orders[i:i + MAX_PUT_BIDS])
            batches.append((chunk, self.client.put_bids(self._ym_bids(chunk))))
        return await run_batches(self.in_flight, self.calls, batches)

    async def pause_campaign(self, campaign_id: str, units: Sequence[BidOrder] = ()) -> None:
        await self.pause_units(campaign_id, [u.unit_id for u in units])

    async def resume_campaign(self, campaign_id: str, units: Sequence[BidOrder] = ()) -> None:
        await self.resume_units(campaign_id, units)

    async def pause_units(self, campaign_id: str, unit_ids: Sequence[str]) -> None:
        zero = [(u, 0) for u in unit_ids]
        for i in range(0, len(zero), 1500):
            await self._call(self.client.put_bids(zero[i:i + 1500]))

    async def resume_units(self, campaign_id: str, orders: Sequence[BidOrder]) -> None:
        if orders:
            await _raise_first(await self.set_bids(orders))

    async def min_bids(self, campaign: MpCampaign, unit_ids: Sequence[str]) -> dict[str, int]:
        units = {u.external_id: u for u in await self._load()}
        return {u: ym_bid_to_kopecks(50, units[u].price) for u in unit_ids if u in units and units[u].price}

    async def competitor_bids(self, campaign_id: str, unit_ids: Sequence[str]) -> dict[str, int]:
        return {}                      # YM recommends bids; it does not publish competitors' bids

    async def ping(self) -> None:
        await self._call(self.client.ping())


def account(ctx: Ctx, marketplace: str, brand: str) -> AdAccount:
    """The adapter of `marketplace` for one brand (LookupError when its credentials are not configured)."""
    in_flight = ctx.settings.marketing.max_in_flight
    if marketplace == "wb":
        return WbAds(ctx.client("wb_advert", brand), brand, in_flight)
    if marketplace == "ozon":
        return OzonAds(ctx.client("ozon_performance", brand), brand, in_flight)
    if marketplace == "ym":
        return YmAds(ctx.client("ym_bids", brand), brand, in_flight)
    raise ValueError(f"unknown marketplace {marketplace!r}; expected one of {', '.join(MARKETPLACES)}")


__all__ = ["AdAccount", "BidBatch", "BidOrder", "MARKETPLACES", "MpCampaign", "MpDay", "MpUnit", "account", "gather_limited"]
