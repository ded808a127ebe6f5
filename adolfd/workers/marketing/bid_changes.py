"""An operator's bid change, applied once (seed 002 §7.1 `apply_bid_change`): one job at a time holds the
change's Redis lock while it reads and sends it (a second job for the same change waits, then finds it applied),
and on a retry the bid is read back from the marketplace before sending. The lock is Redis's, not a PostgreSQL
transaction's: a transaction held across the marketplace call would pin a pooled connection per running job, and
with as many jobs as connections every job would wait for a connection none can give back. The lock names this
worker (adolfd.engine.liveness), so a dead worker's lock is freed within seconds.

A change is identified by its request id. Without one given, the request is keyed by (keyword, bid, the last bid
that landed on the keyword): typing the same command twice records one change, while setting a value again after
the bid cycle moved the bid away records a new one that is sent."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from decimal import Decimal

import asyncpg
from redis.exceptions import LockError

from adolfd.clients.errors import BadResponse, Unavailable
from adolfd.domain.marketing.ad_money import kopecks_to_roubles, rouble
from adolfd.engine import liveness
from adolfd.engine.arguments import Id
from adolfd.engine.context import Ctx
from adolfd.engine.jobs import BadArguments
from adolfd.engine.retry import RetryPolicy
from adolfd.keys import MARKETING_BID_CHANGE_LOCK
from adolfd.workers.marketing.ad_account import BidOrder
from adolfd.workers.marketing.ad_marketplaces import account
from adolfd.workers.marketing.alerts import marketing_job
from adolfd.workers.marketing.campaigns import _k

APPLY_TIMEOUT_S = 120
CHANGE_LOCK_S = APPLY_TIMEOUT_S + 30      # outlives the job that holds it; a dead holder's is freed by liveness
_LAST_LANDED = "SELECT coalesce(max(id), 0) FROM marketing_bid_history WHERE keyword_id = $1 AND status = 'applied'"


async def request_bid_change(db: asyncpg.Pool | asyncpg.Connection, keyword_id: int,
                             new_bid_rub: Decimal | float | str, *, request_id: str | None = None,
                             source: str = "manual") -> int:
    """Record an operator's bid change (bot, CLI, UI) for `apply_bid_change`; the same `request_id` gives the
    same change (default: keyword, bid and the last change that landed). The bid must lie between the
    marketplace minimum and the campaign's max_bid."""
    row = await db.fetchrow(
        "SELECT k.id, k.campaign_id, k.current_bid, k.min_bid, c.max_bid, c.marketplace, c.brand_id "
        "FROM marketing_keywords k JOIN marketing_campaigns c ON c.id = k.campaign_id WHERE k.id = $1", keyword_id)
    if row is None:
        raise LookupError(f"no keyword {keyword_id}")
    bid = rouble(str(new_bid_rub))
    if bid > _k(row["max_bid"]):
        raise ValueError(f"bid {kopecks_to_roubles(bid)} ₽ is above the campaign's max_bid {row['max_bid']} ₽ "
                         f"(allowed {row['min_bid'] or 0}..{row['max_bid']} ₽; raise max_bid first)")
    if row["min_bid"] is not None and bid < _k(row["min_bid"]):     # unknown: the marketplace judges it
        raise ValueError(f"bid {kopecks_to_roubles(bid)} ₽ is outside {row['min_bid']}..{row['max_bid']} ₽ "
                         f"(below the marketplace minimum)")
    if request_id is None:
        landed = await db.fetchval(_LAST_LANDED, keyword_id)
        request_id = f"{keyword_id}:{kopecks_to_roubles(bid)}:after:{landed}"
    return await db.fetchval(
        "INSERT INTO marketing_bid_history (keyword_id, campaign_id, marketplace, brand_id, old_bid, new_bid, source, "
        "reason, change_key) VALUES ($1, $2, $3, $4, $5, $6, $7, 'operator', $8) "
        "ON CONFLICT (change_key) DO UPDATE SET change_key = EXCLUDED.change_key RETURNING id",
        keyword_id, row["campaign_id"], row["marketplace"], row["brand_id"], row["current_bid"],
        kopecks_to_roubles(bid), source, f"{source}:{request_id}")


@marketing_job(queue="high", retry=RetryPolicy(tries=3, delay=30, backoff=2.0), timeout=APPLY_TIMEOUT_S)
async def apply_bid_change(ctx: Ctx, change_id: Id) -> dict:
    """Apply one recorded bid change exactly once (seed §7.1). On a retry, or after an answer that never came,
    the bid is read back first: if the marketplace already has it, it is recorded, not sent again. Two jobs for
    one change (a duplicate enqueue under another job id) take turns on the change's lock: the second finds it
    applied."""
    async with _change_lock(ctx, change_id):
        return await _apply_locked(ctx, change_id)


@asynccontextmanager
async def _change_lock(ctx: Ctx, change_id: int) -> AsyncIterator[None]:
    """One sender per change, across processes and hosts; waits for a holder (the job's own timeout bounds it)."""
    key = MARKETING_BID_CHANGE_LOCK.format(change=change_id)
    lock = ctx.redis.lock(key, timeout=CHANGE_LOCK_S, thread_local=False)
    token = liveness.owned_lock_token()
    if token:
        await liveness.register_owned_lock(ctx.redis, key)
    try:
        if not await lock.acquire(token=token):
            raise Unavailable(f"bid change {change_id} is being applied by another job")
        try:
            yield
        finally:
            with suppress(LockError):
                await lock.release()
    finally:
        if token:
            await liveness.unregister_owned_lock(ctx.redis, key)


async def _apply_locked(ctx: Ctx, change_id: int) -> dict:
    row = await ctx.db.fetchrow(
        "SELECT h.id, h.status, h.new_bid, h.keyword_id, k.external_id, k.placement, k.price, c.id AS campaign_id, "
        "c.external_id AS campaign_external_id, c.marketplace, c.brand_id "
        "FROM marketing_bid_history h JOIN marketing_keywords k ON k.id = h.keyword_id "
        "JOIN marketing_campaigns c ON c.id = h.campaign_id WHERE h.id = $1", change_id)
    if row is None:
        raise BadArguments(f"no bid change {change_id}")
    if row["status"] == "applied":
        return {"change_id": change_id, "status": "already_applied"}
    acc = account(ctx, row["marketplace"], row["brand_id"])
    bid = _k(row["new_bid"])
    order = BidOrder(row["campaign_external_id"], row["external_id"], bid, row["placement"],
                     _k(row["price"]) if row["price"] is not None else None)
    if ctx.job_try > 1 or row["status"] in ("unknown", "failed"):
        live = {u.external_id: u for u in (await acc.units([order.campaign_id])).get(order.campaign_id, [])}
        unit = live.get(order.unit_id)
        if unit is not None and _same_bid(row["marketplace"], unit.bid, bid, order.price):
            await _mark_applied(ctx, change_id, row["keyword_id"], bid)
            return {"change_id": change_id, "status": "applied", "sent": False, "verified": True}
    (batch,) = await acc.set_bids([order])
    if batch.error is not None:
        state = "unknown" if isinstance(batch.error, (Unavailable, BadResponse)) else "failed"
        await ctx.db.execute("UPDATE marketing_bid_history SET status = $2, error = $3 WHERE id = $1",
                             change_id, state, str(batch.error)[:500])
        raise batch.error
    await _mark_applied(ctx, change_id, row["keyword_id"], bid)
    return {"change_id": change_id, "status": "applied", "sent": True, "bid": str(kopecks_to_roubles(bid))}


def _same_bid(marketplace: str, live: int, wanted: int, price: int | None) -> bool:
    """YM keeps a share of the price, so a read-back matches within its rounding; others match exactly."""
    if marketplace == "ym" and price:
        from adolfd.domain.marketing.ad_money import kopecks_to_ym_bid, ym_bid_to_kopecks
        return live == ym_bid_to_kopecks(kopecks_to_ym_bid(wanted, price), price)
    return live == wanted


async def _mark_applied(ctx: Ctx, change_id: int, keyword_id: int, bid: int) -> None:
    async with ctx.db.acquire() as conn, conn.transaction():
        await conn.execute("UPDATE marketing_bid_history SET status = 'applied', applied_at = $2, error = NULL "
                           "WHERE id = $1", change_id, ctx.now())
        await conn.execute("UPDATE marketing_keywords SET current_bid = $2, bid_set_at = $3, updated_at = now() "
                           "WHERE id = $1", keyword_id, kopecks_to_roubles(bid), ctx.now())
