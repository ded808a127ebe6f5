"""The Yandex Market adapter (seed 002 §7.3.1): one boost campaign per business (external id = business id); a
unit is a shop SKU whose bid is a share of its price, converted with the current price; a pause sets the bid to 0,
a campaign pause does so for every SKU; figures come from the shop's orders that carry a `bidFee` (no views or
clicks exist)."""
from __future__ import annotations

import asyncio
import functools
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from datetime import date
from typing import Any

from adolfd.clients.ym_bids import MAX_PRICE_IDS, MAX_PUT_BIDS, YmBidsClient, YmSkuBid
from adolfd.domain.marketing.ad_money import kopecks_to_ym_bid, rouble, ym_bid_to_kopecks
from adolfd.workers.marketing.ad_account import (
    BidBatch,
    BidOrder,
    CountedCalls,
    MpCampaign,
    MpDay,
    MpUnit,
    _raise_first,
    gather_limited,
    run_batches,
)

Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


class PricedPages:
    """The campaign's SKUs page by page as `bids/info` hands them out, each page priced (`offer-prices`, its own
    endpoint class) as soon as it arrives. One reader walks the listing in the background at the pace the limiter
    allows, so pricing page n, deciding it and sending its bids overlap reading page n+1; every reader of the
    pages (the campaign list, the cycle, min bids) shares the one walk."""

    def __init__(self, ads: YmAds, spawn: Spawn) -> None:
        self._slots: list[asyncio.Future[list[MpUnit] | None]] = [_slot()]
        self._spawn = spawn
        self._reader = spawn(self._read(ads))

    async def _read(self, ads: YmAds) -> None:
        try:
            async for bids in ads.client.bids_info_pages():
                ads.calls.count += 1
                slot = self._slots[-1]
                self._slots.append(_slot())
                pricing = self._spawn(ads.priced(bids))
                pricing.add_done_callback(functools.partial(_settle, slot))
            self._slots[-1].set_result(None)
        except Exception as exc:  # noqa: BLE001 — handed to whoever reads the next page
            self._slots[-1].set_exception(exc)

    async def __aiter__(self) -> AsyncIterator[list[MpUnit]]:
        n = 0
        while (page := await self._slots[n]) is not None:
            yield page
            n += 1


def _slot() -> asyncio.Future[list[MpUnit] | None]:
    """A page's place in the walk. Its error counts as seen once set: the reader that reaches it still gets it,
    and the pages after the first failure, which nobody reads, do not log "Future exception was never retrieved"
    for a failure the cycle has already reported."""
    slot: asyncio.Future[list[MpUnit] | None] = asyncio.get_running_loop().create_future()
    slot.add_done_callback(lambda page: page.cancelled() or page.exception())
    return slot


def _settle(slot: asyncio.Future[list[MpUnit] | None], done: asyncio.Future[list[MpUnit]]) -> None:
    if done.cancelled():
        slot.cancel()
    elif (exc := done.exception()) is not None:
        slot.set_exception(exc)
    else:
        slot.set_result(done.result())


class YmAds(CountedCalls[YmBidsClient]):
    marketplace = "ym"
    sends_per_campaign = True
    bids_per_request = MAX_PUT_BIDS
    bids_per_campaign = bids_per_request

    def __init__(self, client: YmBidsClient, brand: str, in_flight: int, spawn: Spawn) -> None:
        """`spawn` starts the listing's reader as a task of the job (`Ctx.background`), so it ends with the job."""
        super().__init__(client, brand, in_flight)
        self._spawn = spawn
        self._pages: PricedPages | None = None

    @property
    def campaign_id(self) -> str:
        return str(self.client.business_id)

    def _listing(self) -> PricedPages:
        if self._pages is None:
            self._pages = PricedPages(self, self._spawn)
        return self._pages

    async def campaigns(self) -> list[MpCampaign]:
        active = False
        async for _ in self._listing():          # the first page tells; the rest keeps coming meanwhile
            active = True
            break
        return [MpCampaign(self.campaign_id, "Буст продаж (API)", "api_boost", active)]

    async def priced(self, bids: Sequence[YmSkuBid]) -> list[MpUnit]:
        """Units of one page of bids, each bid turned into kopecks with the SKU's current price."""
        skus = [b["sku"] for b in bids]
        prices: dict[str, float] = {}
        chunks = [skus[i:i + MAX_PRICE_IDS] for i in range(0, len(skus), MAX_PRICE_IDS)]
        for part in await gather_limited(self.in_flight, (self._call(self.client.offer_prices(c)) for c in chunks)):
            prices.update(part)
        units = []
        for b in bids:
            sku = b["sku"]
            price = rouble(str(prices[sku])) if sku in prices else None
            bid = ym_bid_to_kopecks(b["bid"], price) if price else 0
            units.append(MpUnit(sku, sku, bid, None, price))
        return units

    async def _load(self) -> list[MpUnit]:
        return [u async for page in self._listing() for u in page]

    async def units(self, campaign_ids: Sequence[str]) -> dict[str, list[MpUnit]]:
        if self.campaign_id not in campaign_ids:
            return {}
        return {self.campaign_id: await self._load()}

    async def unit_pages(self, campaign_id: str) -> AsyncIterator[list[MpUnit]]:
        if campaign_id != self.campaign_id:
            return
        async for page in self._listing():
            yield page

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
                revenue = rouble(str(item.buyer_total))
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
        batches = [(chunk, self.client.put_bids(self._ym_bids(chunk))) for chunk in self.bid_requests(orders)]
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
        prices = {u.external_id: u.price for u in await self._load() if u.price}
        return {u: ym_bid_to_kopecks(50, prices[u]) for u in unit_ids if u in prices}

    async def competitor_bids(self, campaign_id: str, unit_ids: Sequence[str]) -> dict[str, int]:
        return {}                      # YM recommends bids; it does not publish competitors' bids

    async def ping(self) -> None:
        await self._call(self.client.ping())
