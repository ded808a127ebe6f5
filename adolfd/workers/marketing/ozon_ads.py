"""The Ozon Performance adapter (seed 002 §7.3.1): a unit is a SKU in a CPC campaign; a unit pause removes the
SKU, a resume adds it back with its bid. Campaign figures are the sums of the SKU rows."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from adolfd.clients.ozon_performance import BIDS_PER_CALL, OzonPerformanceClient
from adolfd.domain.marketing.ad_money import kopecks_to_ozon_micros, ozon_micros_to_kopecks, rouble
from adolfd.workers.marketing.ad_account import (
    BidBatch,
    BidOrder,
    CountedCalls,
    MpCampaign,
    MpDay,
    MpUnit,
    _kopecks_of,
    by_campaign,
    gather_limited,
    run_batches,
)


class OzonAds(CountedCalls[OzonPerformanceClient]):
    marketplace = "ozon"
    sends_per_campaign = True
    bids_per_request = BIDS_PER_CALL
    bids_per_campaign = bids_per_request

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

    async def stats(self, campaign_ids: Sequence[str], first: date, last: date) -> list[MpDay]:
        rows = await self._call(self.client.sku_stats(list(campaign_ids), first, last)) if campaign_ids else []
        days: list[MpDay] = []
        totals: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
        for r in rows:
            day = date.fromisoformat(r.date[:10])
            figures = (int(r.views), int(r.clicks), _kopecks_of(r.expense), int(r.orders), _kopecks_of(r.sales))
            days.append(MpDay(r.campaignId, r.sku, day, *figures))
            acc = totals[(r.campaignId, day)]
            for i, v in enumerate(figures):
                acc[i] += v
        days.extend(MpDay(cid, None, day, views, clicks, spent, orders, revenue)
                    for (cid, day), (views, clicks, spent, orders, revenue) in totals.items())
        return days

    def bid_requests(self, orders: Sequence[BidOrder]) -> list[list[BidOrder]]:
        """One campaign per request (the campaign is in the path), BIDS_PER_CALL products each."""
        return [items[i:i + BIDS_PER_CALL] for items in by_campaign(orders).values()
                for i in range(0, len(items), BIDS_PER_CALL)]

    async def set_bids(self, orders: Sequence[BidOrder]) -> list[BidBatch]:
        batches = [(chunk, self.client.set_bids(chunk[0].campaign_id,
                                                [(o.unit_id, kopecks_to_ozon_micros(o.bid)) for o in chunk]))
                   for chunk in self.bid_requests(orders)]
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
