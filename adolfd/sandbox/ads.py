"""The sandbox's advertising accounts: campaigns, bid-able units and their daily figures (seed 002).

Shared by the three advertising fakes (`wb_advert`, `ozon_performance`, `ym_bids`). Everything static is a
pure function of (seed, marketplace, brand, scale); what the marketplace remembers (bids, paused campaigns,
removed products) lives in `AdBook`, one per fake, emptied by the sandbox reset.

Each brand has, per marketplace, `campaigns` campaigns of `units` products each (3 × 12 by default; the
benchmark asks for 20 × 500). Yandex Market has one API boost campaign per business. Units are the
brand's catalogue articles (`adolfd.sandbox.catalog`), then synthetic ones once the catalogue runs out.
Every unit has a profile that makes the bid cycle's rules fire in the demo: `no_orders` (≥ 100 clicks a
week, never an order → PAUSE_KEYWORD), `low_ctr` (thousands of views, CTR 0.3 %), `expensive` (ad cost
share far above a 10 % target), `good`, `normal`.

Daily figures are deterministic; today's grow with the Moscow time of day, so a later collection reports
more and an identical one reports the same.
"""
from __future__ import annotations

import asyncio
import random
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

from adolfd.sandbox import catalog
from adolfd.sandbox.core import MSK, Sandbox

MARKETPLACES = ("wb", "ozon", "ym")
PROFILES = ("normal", "good", "no_orders", "low_ctr", "expensive")
_PROFILE_CYCLE = ("normal", "good", "normal", "no_orders", "normal", "low_ctr", "good", "expensive", "normal")


@dataclass(frozen=True)
class Scale:
    campaigns: int = 3
    units: int = 12


@dataclass(frozen=True)
class AdUnit:
    unit_id: str                 # WB nm_id, Ozon SKU, YM shop SKU (as text)
    title: str
    price: int                   # roubles
    profile: str
    base_bid: int                # kopecks (YM: hundredths of a percent of the price)
    min_bid: int                 # kopecks (YM: 50)


@dataclass(frozen=True)
class AdCampaign:
    marketplace: str
    brand: str
    campaign_id: int
    name: str
    units: tuple[AdUnit, ...]
    bid_type: str = "unified"    # WB: unified | manual
    payment_type: str = "cpm"    # WB: cpm | cpc; Ozon: CPC


@dataclass(frozen=True)
class DayFigures:
    views: int
    clicks: int
    spent: int                   # kopecks
    orders: int
    revenue: int                 # kopecks
    avg_position: int


def _rng(*key: object) -> random.Random:
    return random.Random("|".join(str(k) for k in key))


def _brand_no(brand: str) -> int:
    return catalog.BRANDS.index(brand) + 1


@lru_cache(maxsize=256)
def campaigns(seed: int, marketplace: str, brand: str, scale: Scale = Scale()) -> tuple[AdCampaign, ...]:
    """The brand's campaigns on one marketplace, in id order."""
    if marketplace not in MARKETPLACES:
        raise ValueError(f"unknown marketplace {marketplace!r}")
    articles = catalog.articles(seed, brand)
    n_campaigns = 1 if marketplace == "ym" else scale.campaigns
    per_campaign = scale.units * (scale.campaigns if marketplace == "ym" else 1)
    brand_no = _brand_no(brand)
    found = []
    for c in range(n_campaigns):
        units = []
        for u in range(per_campaign):
            index = c * per_campaign + u
            units.append(_unit(seed, marketplace, brand, index, articles))
        campaign_id = {"wb": 20_000_000, "ozon": 9_000_000, "ym": 0}[marketplace] + brand_no * 100_000 + c + 1
        if marketplace == "ym":
            campaign_id = 3_000_000 + brand_no            # the business id: one API campaign per business
        rng = _rng(seed, marketplace, brand, c, "campaign")
        found.append(AdCampaign(
            marketplace=marketplace, brand=brand, campaign_id=campaign_id,
            name=f"{brand} {marketplace.upper()} кампания {c + 1}",
            units=tuple(units),
            bid_type=("manual" if c % 3 == 2 else "unified") if marketplace == "wb" else "",
            payment_type=(rng.choice(("cpm", "cpc")) if marketplace == "wb" else "CPC"),
        ))
    return tuple(found)


def _unit(seed: int, marketplace: str, brand: str, index: int, articles: tuple[catalog.Article, ...]) -> AdUnit:
    rng = _rng(seed, marketplace, brand, index, "unit")
    if index < len(articles):
        article = articles[index]
        title, price, sku, offer = article.name, article.price, article.sku, article.offer_id
    else:
        title = f"Товар {index + 1}"
        price = rng.choice((490, 890, 1490, 2490))
        sku = 1_900_000_000 + _brand_no(brand) * 10_000_000 + index
        offer = f"X{_brand_no(brand)}-{index + 1:05d}"
    unit_id = {"wb": str(100_000_000 + sku % 100_000_000), "ozon": str(sku), "ym": offer}[marketplace]
    profile = _PROFILE_CYCLE[(index + zlib.crc32(f"{marketplace}{brand}".encode())) % len(_PROFILE_CYCLE)]
    if marketplace == "ym":
        base_bid, min_bid = rng.choice((300, 500, 700, 900)), 50
    else:
        min_bid = 15_000 if marketplace == "wb" else 300      # WB CPM minimum 150 ₽, Ozon CPC 3 ₽
        base_bid = min_bid + rng.randint(0, 40) * 500 if marketplace == "wb" else rng.randint(5, 40) * 100
    return AdUnit(unit_id=unit_id, title=title, price=price, profile=profile, base_bid=base_bid, min_bid=min_bid)


def find(seed: int, marketplace: str, brand: str, campaign_id: int, scale: Scale = Scale()) -> AdCampaign | None:
    return next((c for c in campaigns(seed, marketplace, brand, scale) if c.campaign_id == campaign_id), None)


async def let_others_in(n: int, every: int = 250) -> None:
    """Inside a loop building a large answer: every `every` items, let the event loop serve (and rate-gate) the
    requests that arrived meanwhile. Otherwise they are all counted at once afterwards, and requests a client
    sent one interval apart reach the gate together and draw a 429 no marketplace would answer."""
    if n % every == every - 1:
        await asyncio.sleep(0)


def day_fraction(now: datetime, day: date) -> float:
    """How much of `day` (Moscow) has passed at `now`: 1 for past days, 0 for future ones."""
    local = now.astimezone(MSK)
    if day < local.date():
        return 1.0
    if day > local.date():
        return 0.0
    return (local.hour * 60 + local.minute + 1) / 1440


def figures(seed: int, campaign: AdCampaign, unit: AdUnit, day: date, fraction: float = 1.0) -> DayFigures:
    """The unit's figures for `day`, `fraction` of the way through it."""
    rng = _rng(seed, campaign.marketplace, campaign.brand, campaign.campaign_id, unit.unit_id, day.isoformat())
    views = {"low_ctr": 4000, "no_orders": 900, "good": 2500}.get(unit.profile, 1500)
    views = int(views * rng.uniform(0.8, 1.2))
    ctr = {"low_ctr": 0.003, "no_orders": 0.03, "good": 0.04, "expensive": 0.03}.get(unit.profile, 0.025)
    clicks = int(views * ctr)
    cpc = {"expensive": 3500, "good": 900}.get(unit.profile, 1500) + rng.randint(0, 300)
    cr = {"no_orders": 0.0, "good": 0.12, "expensive": 0.02, "low_ctr": 0.08}.get(unit.profile, 0.06)
    orders = int(clicks * cr + rng.random())
    if unit.profile == "no_orders":
        orders = 0
    views, clicks = int(views * fraction), int(clicks * fraction)
    orders = int(orders * fraction)
    spent = clicks * cpc
    if campaign.marketplace == "ym":            # boost: pay a share of the price per sale, no clicks
        views = clicks = 0
        spent = orders * unit.price * 100 * unit.base_bid // 10_000
    position = {"good": 3, "expensive": 2, "low_ctr": 25}.get(unit.profile, 9) + rng.randint(0, 4)
    return DayFigures(views, clicks, spent, orders, orders * unit.price * 100, position)


@dataclass
class AdBook:
    """What one advertising fake remembers for every account: changed bids, paused campaigns, removed units."""

    scale: Scale = field(default_factory=Scale)
    bids: dict[tuple[str, int, str], int] = field(default_factory=dict)       # (brand, campaign, unit) → bid
    paused: set[tuple[str, int]] = field(default_factory=set)                 # (brand, campaign)
    removed: set[tuple[str, int, str]] = field(default_factory=set)           # (brand, campaign, unit)

    def bid(self, brand: str, campaign: AdCampaign, unit: AdUnit) -> int:
        return self.bids.get((brand, campaign.campaign_id, unit.unit_id), unit.base_bid)

    def active_units(self, brand: str, campaign: AdCampaign) -> list[AdUnit]:
        return [u for u in campaign.units if (brand, campaign.campaign_id, u.unit_id) not in self.removed]


def book(sandbox: Sandbox, api: str) -> AdBook:
    state = sandbox.state(api)
    if "book" not in state:
        state["book"] = AdBook(scale=state.get("scale", Scale()))
    return state["book"]


def set_scale(sandbox: Sandbox, api: str, scale: Scale, marketplace: str) -> None:
    """Benchmark sizes for one fake (kept until the next reset). Every brand's campaigns are built here, not on
    the first request: building 10 000 units holds the fake's event loop for a fifth of a second, and requests
    that arrive meanwhile would be answered back to back afterwards, as a burst the client never sent."""
    state = sandbox.state(api)
    state["scale"] = scale
    state["book"] = AdBook(scale=scale)
    for brand in catalog.BRANDS:
        campaigns(sandbox.seed, marketplace, brand, scale)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
