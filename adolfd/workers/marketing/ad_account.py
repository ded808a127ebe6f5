"""The shapes every marketplace adapter speaks (seed 002 §7.3.1 `get_adapter`): campaigns, bid-able units with
current bids, per-day figures and bid orders, all money in kopecks; the `AdAccount` protocol; and the bounded
concurrency the adapters send their requests with."""
from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from adolfd.domain.marketing.ad_money import parse_roubles

MARKETPLACES = ("wb", "ozon", "ym")
T = TypeVar("T")
Client = TypeVar("Client")


@dataclass(frozen=True)
class MpCampaign:
    external_id: str
    name: str
    mp_status: str
    active: bool
    archived: bool = False
    bid_type: str | None = None
    payment_type: str | None = None


class MpUnit(NamedTuple):
    """A bid-able unit as the marketplace lists it (a tuple: a cycle builds 10 000 of them)."""

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


class BidOrder(NamedTuple):
    """One unit's bid to send (a tuple: a cycle builds one per changed unit)."""

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


class CountedCalls(ABC, Generic[Client]):
    """What every adapter shares: its API client, brand and in-flight cap, a count of the requests it made, and
    a campaign's units as one page where its marketplace lists them in one read (YM pages them itself)."""

    bids_per_request: int

    def __init__(self, client: Client, brand: str, in_flight: int) -> None:
        self.client, self.brand, self.in_flight = client, brand, in_flight
        self.calls = Calls()

    async def _call(self, job: Awaitable[T]) -> T:
        self.calls.count += 1
        return await job

    def _count_page(self) -> None:
        self.calls.count += 1

    @abstractmethod
    async def campaigns(self) -> list[MpCampaign]:
        """The account's campaigns as the marketplace lists them."""

    async def campaigns_among(self, external_ids: Collection[str]) -> list[MpCampaign]:
        """These campaigns as the marketplace shows them now; one it no longer lists is left out."""
        return [c for c in await self.campaigns() if c.external_id in external_ids]

    @abstractmethod
    async def units(self, campaign_ids: Sequence[str]) -> dict[str, list[MpUnit]]:
        """Each campaign's bid-able units with their current bids, as the marketplace lists them."""

    async def unit_pages(self, campaign_id: str) -> AsyncIterator[list[MpUnit]]:
        """One piece: the whole campaign, for marketplaces that list a campaign's units in one read."""
        yield (await self.units([campaign_id])).get(campaign_id, [])

    def bid_requests(self, orders: Sequence[BidOrder]) -> list[list[BidOrder]]:
        """The orders each request of `set_bids` carries, in the order they are sent."""
        return [list(orders[i:i + self.bids_per_request]) for i in range(0, len(orders), self.bids_per_request)]


class AdAccount(Protocol):
    marketplace: str
    brand: str
    calls: Calls
    sends_per_campaign: bool          # False: one bid request carries many campaigns (WB), send them together
    bids_per_request: int             # the most bid orders one request carries
    bids_per_campaign: int            # … of them of one campaign

    async def campaigns(self) -> list[MpCampaign]: ...
    async def campaigns_among(self, external_ids: Collection[str]) -> list[MpCampaign]: ...
    async def units(self, campaign_ids: Sequence[str]) -> dict[str, list[MpUnit]]: ...
    def unit_pages(self, campaign_id: str) -> AsyncIterator[list[MpUnit]]:
        """A campaign's units in the pieces the marketplace lists them in, each as soon as it is read."""
        ...
    async def stats(self, campaign_ids: Sequence[str], first: date, last: date) -> list[MpDay]: ...
    def bid_requests(self, orders: Sequence[BidOrder]) -> list[list[BidOrder]]:
        """How `set_bids` splits orders into requests: sending each part on its own takes as many requests."""
        ...
    async def set_bids(self, orders: Sequence[BidOrder]) -> list[BidBatch]: ...
    async def pause_campaign(self, campaign_id: str, units: Sequence[BidOrder] = ()) -> None: ...
    async def resume_campaign(self, campaign_id: str, units: Sequence[BidOrder] = ()) -> None: ...
    async def pause_units(self, campaign_id: str, unit_ids: Sequence[str]) -> None: ...
    async def resume_units(self, campaign_id: str, orders: Sequence[BidOrder]) -> None: ...
    async def min_bids(self, campaign: MpCampaign, unit_ids: Sequence[str]) -> dict[str, int]: ...
    async def competitor_bids(self, campaign_id: str, unit_ids: Sequence[str]) -> dict[str, int]: ...
    async def ping(self) -> None: ...


def by_campaign(orders: Sequence[BidOrder]) -> dict[str, list[BidOrder]]:
    """Orders grouped by campaign, each group in the order given."""
    found: dict[str, list[BidOrder]] = {}
    for o in orders:
        found.setdefault(o.campaign_id, []).append(o)
    return found


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
