"""Campaign and keyword rows (seed 002 §7.3.1, §7.3.2): loading the day's campaigns, upserting their bid-able units,
and the small helpers every marketing job shares (kopecks from NUMERIC roubles, chunked statements)."""
from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from adolfd.domain.marketing.ad_money import rouble
from adolfd.domain.marketing.bid_engine import CampaignTarget, Strategy
from adolfd.engine.context import Ctx
from adolfd.process.db_arrays import bigint_array, text_array
from adolfd.workers.marketing.ad_account import BidOrder, MpUnit
from adolfd.workers.marketing.alerts import CampaignRef


def _k(value: Decimal | None) -> int:
    """A NUMERIC rouble column → kopecks."""
    return 0 if value is None else rouble(value)


CHUNK = 1000      # rows per set-based statement: big enough to be cheap, small enough not to stall the loop


def chunks(rows: Sequence[Any], size: int = CHUNK) -> list[Sequence[Any]]:
    return [rows[i:i + size] for i in range(0, len(rows), size)]


async def pause_point() -> None:
    """Between large statements: let paced API requests of other accounts leave on time."""
    await asyncio.sleep(0)


def _day_start(ctx: Ctx, day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ctx.settings.tz)


@dataclass
class CampaignRow:
    id: int
    brand_id: str
    marketplace: str
    external_id: str
    name: str
    status: str
    paused_by: str | None
    paused_at: datetime | None
    strategy: str
    target_position: int | None
    target_drr: Decimal | None
    target_cpo: int | None
    max_bid: int
    daily_limit: int | None
    spent_today: int
    revenue_today: int

    @property
    def ref(self) -> CampaignRef:
        return CampaignRef(self.id, self.brand_id, self.marketplace, self.name)

    def target(self) -> CampaignTarget:
        return CampaignTarget(Strategy(self.strategy), self.max_bid, self.target_position, self.target_drr,
                              self.target_cpo)


_CAMPAIGNS = """
SELECT id, brand_id, marketplace, external_id, name, status, paused_by, paused_at, strategy_type, target_position,
       target_drr, target_cpo, max_bid, daily_limit,
       CASE WHEN spent_date = $1 THEN spent_today ELSE 0 END AS spent_today,
       CASE WHEN spent_date = $1 THEN revenue_today ELSE 0 END AS revenue_today
FROM marketing_campaigns
WHERE ($2::text IS NULL OR marketplace = $2) AND ($3::text IS NULL OR brand_id = $3) AND status = ANY($4::text[])
ORDER BY id
"""


async def load_campaigns(db: asyncpg.Pool | asyncpg.Connection, today: date, *, marketplace: str | None = None,
                         brand: str | None = None, statuses: Sequence[str] = ("active",)) -> list[CampaignRow]:
    rows = await db.fetch(_CAMPAIGNS, today, marketplace, brand, list(statuses))
    return [CampaignRow(r["id"], r["brand_id"], r["marketplace"], r["external_id"], r["name"], r["status"],
                        r["paused_by"], r["paused_at"], r["strategy_type"], r["target_position"], r["target_drr"],
                        _k(r["target_cpo"]) if r["target_cpo"] is not None else None, _k(r["max_bid"]),
                        _k(r["daily_limit"]) if r["daily_limit"] is not None else None,
                        _k(r["spent_today"]), _k(r["revenue_today"])) for r in rows]


# $1 now, $2–$7 the listed units, $8 when the listing's read began; `stored` is every listed unit's row
UPSERT_KEYWORDS_CTE = """
WITH listed AS (               -- bid and price come as kopecks: cheaper to send than NUMERIC
    SELECT campaign_id, external_id, keyword, placement, bid::numeric / 100 AS bid, price::numeric / 100 AS price
    FROM unnest($2::text::bigint[], $3::text::text[], $4::text::text[], $5::text::text[], $6::text::bigint[],
                $7::text::bigint[]) AS u(campaign_id, external_id, keyword, placement, bid, price)   -- db_arrays
), seen AS (                   -- each unit's stored row: one probe of the unique index per unit
    SELECT u.*, k.id AS k_id, k.keyword AS k_keyword, k.placement AS k_placement, k.status AS k_status,
           k.min_bid AS k_min_bid, k.price AS k_price,
           (k.id IS NULL OR k.keyword IS DISTINCT FROM u.keyword OR k.placement IS DISTINCT FROM u.placement
            OR (k.current_bid <> u.bid AND (k.bid_set_at IS NULL OR k.bid_set_at < $8))
            OR (u.price IS NOT NULL AND k.price IS DISTINCT FROM u.price) OR k.status = 'removed') AS changed
    FROM listed u LEFT JOIN LATERAL (
        SELECT * FROM marketing_keywords k WHERE k.campaign_id = u.campaign_id AND k.external_id = u.external_id
        LIMIT 1) k ON true
), written AS (                -- only what the listing changes: an unchanged row is neither written nor locked
    INSERT INTO marketing_keywords AS k (campaign_id, external_id, keyword, placement, current_bid, price, synced_at)
    SELECT campaign_id, external_id, keyword, placement, bid, price, $1 FROM seen WHERE changed
    ON CONFLICT (campaign_id, external_id) DO UPDATE SET
        keyword = EXCLUDED.keyword, placement = EXCLUDED.placement,
        current_bid = CASE WHEN k.bid_set_at >= $8 THEN k.current_bid ELSE EXCLUDED.current_bid END,
        price = COALESCE(EXCLUDED.price, k.price), synced_at = EXCLUDED.synced_at, updated_at = now(),
        status = CASE WHEN k.status = 'removed' THEN 'active' ELSE k.status END
    WHERE                      -- `changed` once more, on the row as a concurrent writer may have left it
          k.keyword IS DISTINCT FROM EXCLUDED.keyword OR k.placement IS DISTINCT FROM EXCLUDED.placement
       OR (k.current_bid <> EXCLUDED.current_bid AND (k.bid_set_at IS NULL OR k.bid_set_at < $8))
       OR (EXCLUDED.price IS NOT NULL AND k.price IS DISTINCT FROM EXCLUDED.price) OR k.status = 'removed'
    RETURNING id, campaign_id, external_id, keyword, placement, status, min_bid, price
), stored AS (
    SELECT * FROM written
    UNION ALL
    SELECT s.k_id, s.campaign_id, s.external_id, s.k_keyword, s.k_placement, s.k_status, s.k_min_bid, s.k_price
    FROM seen s WHERE s.k_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM written w WHERE w.id = s.k_id)
)"""
_UPSERT_KEYWORDS = UPSERT_KEYWORDS_CTE + " SELECT * FROM stored"


def unit_arrays(part: Sequence[tuple[int, MpUnit]]) -> tuple[str, ...]:
    """Parameters $2–$7 of UPSERT_KEYWORDS_CTE for (campaign id, unit) pairs, as array literals (db_arrays)."""
    return (bigint_array(cid for cid, _ in part), text_array(u.external_id for _, u in part),
            text_array(u.label for _, u in part), text_array(u.placement for _, u in part),
            bigint_array(u.bid for _, u in part), bigint_array(u.price for _, u in part))


async def upsert_units(conn: asyncpg.Pool | asyncpg.Connection, units: dict[int, Sequence[MpUnit]],
                       now: datetime, *, read_at: datetime) -> dict[int, dict[str, asyncpg.Record]]:
    """Store the units the marketplace lists for each campaign id (bid and price as it reports them), in one
    statement; returns the rows by campaign id and external id. Only rows the listing changes are written
    (`synced_at` is when it last did): the bid cycle reads every unit each time, and rewriting thousands of
    unchanged rows cost it more than deciding their bids.

    `read_at` is when the marketplace read began: a bid adolfd set and confirmed after it (`bid_set_at`) is newer
    than the bid this read saw, so a slow read never writes an older bid over it."""
    flat = [(cid, u) for cid, us in units.items() for u in us]
    found: dict[int, dict[str, asyncpg.Record]] = {cid: {} for cid in units}
    if not flat:
        return found
    for part in chunks(flat):
        rows = await conn.fetch(_UPSERT_KEYWORDS, now, *unit_arrays(part), read_at)
        for r in rows:
            found[r["campaign_id"]][r["external_id"]] = r
        await pause_point()
    return found


async def _keywords(db: asyncpg.Pool | asyncpg.Connection,
                    campaign_ids: Sequence[int]) -> dict[int, list[asyncpg.Record]]:
    rows = await db.fetch("SELECT id, campaign_id, external_id, keyword, placement, status, current_bid, min_bid, "
                          "price "
                          "FROM marketing_keywords WHERE campaign_id = ANY($1::bigint[])", list(campaign_ids))
    found: dict[int, list[asyncpg.Record]] = defaultdict(list)
    for r in rows:
        found[r["campaign_id"]].append(r)
    return found


def _order(row: asyncpg.Record, campaign: CampaignRow, bid: int | None = None) -> BidOrder:
    return BidOrder(campaign.external_id, row["external_id"], _k(row["current_bid"]) if bid is None else bid,
                    row["placement"], _k(row["price"]) if row["price"] is not None else None)
