"""The Wildberries adapter (seed 002 §7.3.1): a unit is a product (`nm_id`) in a campaign on the campaign's
placement; unit figures are the product's over all placements and platforms of `fullstats`; a unit pause takes the
product out of the campaign (`auction/nms`), a resume puts it back and restores its bid."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Sequence
from datetime import date
from decimal import Decimal

from adolfd.clients.wb_advert import (
    MAX_BID_CAMPAIGNS,
    MAX_BID_NMS,
    STATUS_ACTIVE,
    STATUS_PAUSED,
    WbAdvert,
    WbAdvertClient,
    WbNmSetting,
    campaign_bids,
    request_slices,
)
from adolfd.workers.marketing.ad_account import (
    BidBatch,
    BidOrder,
    CountedCalls,
    MpCampaign,
    MpDay,
    MpUnit,
    _kopecks_of,
    _raise_first,
    by_campaign,
    gather_limited,
    run_batches,
)

UNITS_PER_PAGE = MAX_BID_NMS


class WbAds(CountedCalls[WbAdvertClient]):
    marketplace = "wb"
    sends_per_campaign = False
    bids_per_request = MAX_BID_CAMPAIGNS * MAX_BID_NMS
    bids_per_campaign = MAX_BID_NMS

    def __init__(self, client: WbAdvertClient, brand: str, in_flight: int) -> None:
        super().__init__(client, brand, in_flight)
        self._adverts: dict[str, WbAdvert] = {}

    async def campaigns(self) -> list[MpCampaign]:
        ids = (await self._call(self.client.promotion_count())).ids([STATUS_ACTIVE, STATUS_PAUSED])
        return [_campaign_of(a) for a in await self._load(ids)]

    async def campaigns_among(self, external_ids: Collection[str]) -> list[MpCampaign]:
        """Read by id, without the count first: the campaigns' listing is what the bid cycle needs anyway."""
        return [_campaign_of(a) for a in await self._load([int(c) for c in external_ids])]

    async def _load(self, ids: Sequence[int]) -> list[WbAdvert]:
        chunks = [ids[i:i + 50] for i in range(0, len(ids), 50)]
        found = await gather_limited(self.in_flight, (self._call(self.client.adverts(c)) for c in chunks))
        adverts = [a for part in found for a in part]
        self._adverts.update({str(a.id): a for a in adverts})
        return adverts

    async def _read(self, campaign_ids: Sequence[str]) -> None:
        """Campaigns not read yet by `campaigns()` are read now."""
        missing = [int(c) for c in campaign_ids if c not in self._adverts]
        if missing:
            await self._load(missing)

    async def units(self, campaign_ids: Sequence[str]) -> dict[str, list[MpUnit]]:
        await self._read(campaign_ids)
        result: dict[str, list[MpUnit]] = {}
        for cid in campaign_ids:
            advert = self._adverts.get(cid)
            if advert is None:
                continue
            result[cid] = _units_of(advert, advert.nm_settings or [])
        return result

    async def unit_pages(self, campaign_id: str) -> AsyncIterator[list[MpUnit]]:
        """A campaign's products in slices of what one bid request carries per campaign: the cycle sends
        request k as soon as slice k of every campaign is decided, instead of after all of them. Each slice's
        units are built when it is asked for, so the first request does not wait for the rest."""
        await self._read([campaign_id])
        advert = self._adverts.get(campaign_id)
        if advert is None:
            return
        products = advert.nm_settings or []
        for start in range(0, len(products), UNITS_PER_PAGE):
            yield _units_of(advert, products[start:start + UNITS_PER_PAGE])

    def bid_requests(self, orders: Sequence[BidOrder]) -> list[list[BidOrder]]:
        return [[o for _, part in request for o in part] for request in request_slices(by_campaign(orders))]

    async def stats(self, campaign_ids: Sequence[str], first: date, last: date) -> list[MpDay]:
        ids = [int(c) for c in campaign_ids]
        items = await self._call(self.client.fullstats(ids, first, last)) if ids else []
        days: list[MpDay] = []
        for item in items:
            cid = str(item.advertId)
            positions: dict[tuple[str, str], float] = {(b.date[:10], str(b.nm)): b.avg_position
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
        batches = []
        for request in request_slices(by_campaign(orders)):
            body = [campaign_bids(int(c), ((int(o.unit_id), o.bid, o.placement or "combined") for o in part))
                    for c, part in request]
            batches.append(([o for _, part in request for o in part], self.client.send_bid_batch(body)))
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


def _campaign_of(a: WbAdvert) -> MpCampaign:
    return MpCampaign(str(a.id), a.settings.name, str(a.status), a.status == STATUS_ACTIVE,
                      archived=a.status in (7, 8, -1), bid_type=a.bid_type, payment_type=a.settings.payment_type)


def _units_of(advert: WbAdvert, products: Sequence[WbNmSetting]) -> list[MpUnit]:
    placement = advert.placement
    ids = [str(nm["nm_id"]) for nm in products]
    return [MpUnit(nm_id, nm_id, bid, placement) for nm_id, bid in zip(ids, advert.bids_of(products), strict=True)]
