"""One advertising account seen the same way on every marketplace (seed 002 §7.3.1 `get_adapter`).

The bid cycle, stats collection, budgets and sync speak to `AdAccount` (`ad_account.py`): campaigns, their bid-able
units with current bids, per-day figures, bid orders, pauses. Each marketplace's adapter (`wb_ads.py`,
`ozon_ads.py`, `ym_ads.py`) turns its own API (`adolfd.clients.wb_advert`, `ozon_performance`, `ym_bids`) into
these shapes, all money in kopecks.

Requests inside one call are sent concurrently (at most `in_flight` at a time); the shared rate limiter
spaces them, so a large account is covered as fast as the marketplace allows.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from adolfd.clients.ozon_performance import OzonPerformanceClient
from adolfd.clients.wb_advert import WbAdvertClient
from adolfd.clients.ym_bids import YmBidsClient
from adolfd.workers.marketing.ad_account import MARKETPLACES, AdAccount
from adolfd.workers.marketing.ozon_ads import OzonAds
from adolfd.workers.marketing.wb_ads import WbAds
from adolfd.workers.marketing.ym_ads import YmAds

if TYPE_CHECKING:
    from adolfd.engine.context import Ctx


def account(ctx: Ctx, marketplace: str, brand: str) -> AdAccount:
    """The adapter of `marketplace` for one brand (LookupError when its credentials are not configured)."""
    in_flight = ctx.settings.marketing.max_in_flight
    if marketplace == "wb":
        return WbAds(ctx.client(WbAdvertClient, brand), brand, in_flight)
    if marketplace == "ozon":
        return OzonAds(ctx.client(OzonPerformanceClient, brand), brand, in_flight)
    if marketplace == "ym":
        return YmAds(ctx.client(YmBidsClient, brand), brand, in_flight, ctx.background)
    raise ValueError(f"unknown marketplace {marketplace!r}; expected one of {', '.join(MARKETPLACES)}")
