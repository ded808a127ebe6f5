"""Packing bid orders of many campaigns into requests as they are decided, for marketplaces whose one bid
request carries several campaigns (WB: 50 campaigns × 50 products). Pure bookkeeping, no I/O."""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class CampaignSlices(Generic[T]):
    """Request k carries the k-th slice of `per_campaign` orders of each campaign, `campaigns_per_request`
    campaigns at most: the same requests as slicing all orders at the end, but each one leaves as soon as every
    campaign still being decided has its slice k full, so the sends overlap the deciding of later slices."""

    def __init__(self, campaigns: Iterable[Hashable], per_campaign: int, campaigns_per_request: int) -> None:
        self._pending: dict[Hashable, list[T]] = {c: [] for c in campaigns}
        self._deciding = set(self._pending)
        self._per_campaign = max(per_campaign, 1)
        self._campaigns_per_request = max(campaigns_per_request, 1)

    def add(self, campaign: Hashable, orders: Sequence[T]) -> list[list[T]]:
        """Orders of a campaign, in its order; returns the requests they complete."""
        self._pending[campaign].extend(orders)
        return self._ready()

    def finish(self, campaign: Hashable) -> list[list[T]]:
        """The campaign has no more orders (decided, or failed); returns the requests that completes."""
        self._deciding.discard(campaign)
        return self._ready()

    def _ready(self) -> list[list[T]]:
        requests: list[list[T]] = []
        n = self._per_campaign
        while any(self._pending.values()) and all(len(self._pending[c]) >= n for c in self._deciding):
            parts = []
            for campaign, items in self._pending.items():
                if items:
                    parts.append(items[:n])
                    self._pending[campaign] = items[n:]
            step = self._campaigns_per_request
            requests += [[o for part in parts[i:i + step] for o in part] for i in range(0, len(parts), step)]
        return requests
